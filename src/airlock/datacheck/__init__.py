"""`airlock data check`: is the data an organization evaluates, fine-tunes or grounds with fit
for it? Schema, empty and over-long records, duplicates and train/test leakage, personal data
and secrets (redacted), label balance, lengths and the writing systems used.

Readers turn each input (JSONL, CSV, Parquet, text files, a BEIR folder) into `Record`s; the
checks see records only; `check.run` streams them through every check in one pass and returns a
`DataReport`. Nothing here prints or exits: that is `airlock.cli.data`.
"""
