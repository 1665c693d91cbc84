"""Renderers, one package per subject (scan, vet, fit, license), each turning its answer into
every output format as a string, with no side effects; `advice` and `console` are shared."""
