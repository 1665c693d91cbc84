"""Content analyzers: what several formats carry (chat templates in GGUF, JSON, YAML and template
files; configs that name callables; Keras configs; Python code), judged once for every reader."""
