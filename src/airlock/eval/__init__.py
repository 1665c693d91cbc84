"""`airlock eval`: how good candidate models are on the organization's own labeled data.

Data flows one way: a data set (`formats`, one reader per task) -> candidates (admitted models
through the gateway's engines, or OpenAI-compatible endpoints) -> per-item scores (`runners`)
-> statistics (`stats`) -> one `EvalResult` (`result`), which the reports render and the
registry records. Only `airlock.cli.eval` prints or exits."""
