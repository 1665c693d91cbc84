"""The scan: will loading these files run code? Read by their bytes, never loaded.

Layers, each importing only from those below it (tests/test_layers.py holds them):
`scanner` (walks files, dispatches, limits nesting) over `parallel` (several processes) over
`registry` (one reader per kind, imported lazily) over `formats` (one reader per serialization
format) over `analyzers` (content that several formats carry: templates, configs, code) over
`context`, `results` and `names` (what a reader gets, what a scan returns, which Python names
are safe to import and call).
"""
