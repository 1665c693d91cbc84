"""Whole-model assessments other than the scan: `license` and `resources` (`airlock fit`)."""
