"""Evaluation data sets: one reader per format, each validating every record (file and line in
every error) before any model runs, then streaming the items again for the run."""
