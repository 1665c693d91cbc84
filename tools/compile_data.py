"""Write the JSON copies of the knowledge files every scan reads (airlock.data.COMPILED).

The TOML files stay the source of truth; run this after editing one of them:
`.venv/bin/python tools/compile_data.py`. tests/test_compiled_data.py fails when a copy is
out of date.
"""

from __future__ import annotations

import json
import tomllib
from pathlib import Path

from airlock.data import COMPILED, compiled_path

DATA = Path(__file__).resolve().parents[1] / "src" / "airlock" / "data"


def render(name: str) -> str:
    """The JSON copy of data/`name`, as it is written to compiled/."""
    data = tomllib.loads((DATA / name).read_text(encoding="utf-8"))
    return json.dumps(data, ensure_ascii=False, separators=(",", ":")) + "\n"


def main() -> None:
    for name in COMPILED:
        target = DATA / "compiled" / Path(compiled_path(name)).name
        target.write_text(render(name), encoding="utf-8")
        print(f"wrote {target}")


if __name__ == "__main__":
    main()
