"""Builders for test samples: functions that write model files into a given directory.

Malicious samples are assembled opcode by opcode (see `pickle_bytes`), never by pickling real
objects, and every payload is a harmless canary that would only create a file in the test's
temporary directory. Nothing here loads, unpickles or imports what a sample names.
"""
