"""Airlock: the way in for open-source AI models."""

__version__ = "0.1.0"
