"""Which Python names a file may make a loader import and call, from the data files: the pickle
allowlist and denylist (`pickle_globals`) and the callables configs may name (`config_targets`).
Shared by the pickle analysis, the content analyzers and the readers."""
