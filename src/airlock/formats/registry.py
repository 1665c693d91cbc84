"""The readers a default scan uses, one per format."""

from __future__ import annotations

from airlock.formats.interface import Reader
from airlock.formats.pickle_reader import PickleReader


def default_readers() -> list[Reader]:
    return [PickleReader()]
