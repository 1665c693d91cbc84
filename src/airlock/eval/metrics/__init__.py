"""Metrics, one module per family; each scores one item as (numerator, denominator) so that a
data set's value, its bootstrap resamples and its paired tests are all ratios of sums."""
