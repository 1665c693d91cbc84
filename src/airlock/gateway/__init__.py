"""`airlock serve`: an OpenAI-compatible gateway that serves admitted, hash-verified models only.

FastAPI and the engines' libraries (torch, transformers, sentence-transformers) come with the
`[serve]` extra; nothing here is imported by the other commands.
"""
