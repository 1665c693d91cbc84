"""Engines: one interface over the libraries that run models, and a factory that picks one."""
