"""Renderers: each turns a ScanReport into one output format, as a string, with no side effects."""
