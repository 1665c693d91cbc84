"""`airlock license` reports: text and JSON."""
