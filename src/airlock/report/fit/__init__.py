"""`airlock fit` reports: text and JSON."""
