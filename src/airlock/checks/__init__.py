"""Checks shared by several readers (chat templates appear in GGUF, JSON and template files)."""
