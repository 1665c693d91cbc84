"""`airlock eval` reports: text, Markdown and HTML (with a chart), from shared rows; JSON is the
result document's own `to_dict()`."""
