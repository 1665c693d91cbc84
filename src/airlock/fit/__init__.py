"""Resources: what a model needs to run and what it costs, from its files' headers alone."""
