"""`airlock vet` reports: text, JSON, Markdown, HTML, SARIF, and the summary they share."""
