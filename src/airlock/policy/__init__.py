"""Policy: the organization's intake rules, read from YAML, applied to a dossier."""
