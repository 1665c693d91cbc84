"""`airlock scan` reports: text, JSON, SARIF, and the summary they share."""
