"""Collecting files: the order and the link rules of a folder walk."""

from __future__ import annotations

import os
from pathlib import Path

from airlock.artifact import collect


def test_folder_walk_order_and_links(tmp_path: Path) -> None:
    root = tmp_path / "model"
    (root / "b_sub" / "deeper").mkdir(parents=True)
    (root / "a_sub").mkdir()
    for name in ("z.bin", "a.bin", "b_sub/c.bin", "b_sub/deeper/d.bin", "a_sub/e.bin"):
        (root / name).write_bytes(b"x")
    outside = tmp_path / "outside.bin"
    outside.write_bytes(b"x")
    (root / "link_in.bin").symlink_to(root / "a.bin")
    (root / "link_out.bin").symlink_to(outside)
    (root / "link_dir_in").symlink_to(root / "a_sub")
    (root / "link_dir_out").symlink_to(tmp_path)
    (root / "dangling.bin").symlink_to(root / "missing")
    os.mkfifo(root / "pipe")

    found = [(os.path.relpath(f.display, root), f.escapes_root) for f in collect([root])]

    # Each folder's files in name order (then its linked folders), then its subfolders.
    assert found == [
        ("a.bin", False),
        ("link_in.bin", False),
        ("link_out.bin", True),
        ("z.bin", False),
        ("link_dir_out", True),
        ("a_sub/e.bin", False),
        ("b_sub/c.bin", False),
        ("b_sub/deeper/d.bin", False),
    ]
