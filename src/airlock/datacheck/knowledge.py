"""The data files a data check reads (airlock/data/datacheck/*.toml), parsed once."""

from __future__ import annotations

import tomllib
from functools import cache
from importlib import resources
from typing import Any


@cache
def load(name: str) -> dict[str, Any]:
    text = resources.files("airlock.data").joinpath("datacheck", name).read_text("utf-8")
    return tomllib.loads(text)
