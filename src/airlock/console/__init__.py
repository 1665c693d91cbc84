"""The Airlock console: web pages and a JSON admin API where people request, review and
approve models, manage keys and see usage (docs/console.md). Mounted by `airlock serve`."""
