"""One reader per input format; `inputs.sources` picks them for the paths handed in."""
