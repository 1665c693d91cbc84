"""Monthly cost: devices x USD per device-hour x 730 hours (an average month, 8,760 h / 12).

Example list prices ship in `airlock/data/prices.toml`; an organization's own prices go in
`$AIRLOCK_HOME/config.toml` under `[prices]` (accelerator id = USD per device-hour).
"""

from __future__ import annotations

import tomllib
from dataclasses import dataclass
from importlib import resources
from pathlib import Path

from airlock.home import airlock_home

HOURS_PER_MONTH = 730


class PriceConfigError(ValueError):
    """config.toml exists but its `[prices]` table cannot be used."""


@dataclass(frozen=True)
class Price:
    usd_per_hour: float
    basis: str  # who lists it and when, or "config.toml"


def prices(home: Path | None = None) -> dict[str, Price]:
    text = resources.files("airlock.data").joinpath("prices.toml").read_text("utf-8")
    table: dict[str, Price] = {
        key: Price(
            float(row["usd_per_hour"]), f"example list price, {row['provider']}, {row['as_of']}"
        )
        for key, row in tomllib.loads(text)["prices"].items()
    }
    table.update(_overrides((home or airlock_home()) / "config.toml"))
    return table


def _overrides(path: Path) -> dict[str, Price]:
    if not path.is_file():
        return {}
    try:
        config = tomllib.loads(path.read_text("utf-8"))
    except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError) as exc:
        raise PriceConfigError(f"{path}: {exc}") from None
    found = config.get("prices", {})
    if not isinstance(found, dict):
        raise PriceConfigError(f"{path}: [prices] must be a table of id = USD per hour")
    overrides = {}
    for key, value in found.items():
        if isinstance(value, bool) or not isinstance(value, int | float) or value < 0:
            raise PriceConfigError(f"{path}: prices.{key} must be a non-negative number")
        overrides[key.lower()] = Price(float(value), f"{path.name} [prices]")
    return overrides


def monthly_usd(devices: int, price: Price | None) -> float | None:
    return None if price is None else devices * price.usd_per_hour * HOURS_PER_MONTH
