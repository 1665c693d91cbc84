"""Re-vetting admitted versions with today's policy, rules and knowledge: `run` judges and
suspends, `schedule` does it inside `airlock serve`."""
