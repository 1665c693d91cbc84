"""`airlock data check` reports: text."""
