"""The dossier (and so `vet`'s policy) never reads weights-only sizing as sized."""

from __future__ import annotations

import json
import struct
from pathlib import Path

from airlock.dossier.build import build_dossier
from airlock.policy.schema import default_policy


def test_safetensors_without_config_is_not_sized(tmp_path: Path) -> None:
    header = json.dumps({"w": {"dtype": "F32", "shape": [2, 2], "data_offsets": [0, 16]}})
    (tmp_path / "model.safetensors").write_bytes(
        struct.pack("<Q", len(header)) + header.encode() + bytes(16)
    )
    fit = build_dossier(str(tmp_path), default_policy().dossier_options(), None).fit
    assert not fit.sized
    assert fit.detail == "no config.json beside the safetensors"
