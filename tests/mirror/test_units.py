"""The mirror's and pull's pieces on their own: repo ids, revisions, the tree, ranges, patterns,
and the registry's rule that a repo id names one model."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pytest

from airlock.mirror import hub_json, serving
from airlock.mirror.errors import RangeNotSatisfiable
from airlock.provenance.manifest import FileDigest
from airlock.pull.hub import RemoteFile, select
from airlock.registry import repo_ids
from airlock.registry.store import Record


@pytest.mark.parametrize("good", ["org/name", "name", "Org-1/model.v2_x"])
def test_repo_ids_accepted(good: str) -> None:
    assert repo_ids.problem(good) is None


@pytest.mark.parametrize("bad", ["", "/name", "org/", "a/b/c", "org/na me", "org/a--b", "../x"])
def test_repo_ids_refused(bad: str) -> None:
    assert repo_ids.problem(bad) is not None


def test_revision_is_stable_commit_like_and_not_the_digest() -> None:
    digest = "sha256:" + "ab" * 32
    revision = repo_ids.revision_of(digest)
    assert revision == repo_ids.revision_of(digest) and repo_ids.REVISION_RE.fullmatch(revision)
    assert revision != repo_ids.revision_of("sha256:" + "cd" * 32)
    assert revision not in digest


def _record(*paths: str) -> Record:
    files = tuple(FileDigest(p, 3, "a" * 64) for p in paths)
    return Record(
        "m", 1, "/x", "sha256:0", "admit", (), (), {}, "p", "d", False, None, "st", "",
        datetime.now(UTC), files, "org/m", "f" * 40,
    )  # fmt: skip


def test_tree_lists_one_level_or_all_and_refuses_missing_folders() -> None:
    record = _record("a.json", "sub/b.json", "sub/deep/c.json")
    top = hub_json.tree(record, "", recursive=False)
    assert top is not None
    assert [(e["type"], e["path"]) for e in top] == [("directory", "sub"), ("file", "a.json")]
    everything = hub_json.tree(record, "", recursive=True)
    assert everything is not None
    assert {e["path"] for e in everything} == {
        "sub", "sub/deep", "a.json", "sub/b.json", "sub/deep/c.json"
    }  # fmt: skip
    sub = hub_json.tree(record, "sub", recursive=False)
    assert sub is not None and [e["path"] for e in sub] == ["sub/deep", "sub/b.json"]
    assert hub_json.tree(record, "none", recursive=False) is None
    assert top[1]["lfs"] == {"oid": "a" * 64, "size": 3, "pointerSize": len(
        hub_json.lfs_pointer(record.files[0])
    )}  # fmt: skip


def test_lfs_pointer_oid_is_gits() -> None:
    # `git hash-object` of an empty file: the well-known id of the empty blob.
    assert hub_json.git_oid("blob", b"") == "e69de29bb2d1d6434b8b29ae775ad8c2e48c5391"


@pytest.mark.parametrize(
    ("header", "expected"),
    [
        (None, None),
        ("bytes=0-9", (0, 9)),
        ("bytes=5-", (5, 99)),
        ("bytes=-10", (90, 99)),
        ("bytes=90-500", (90, 99)),
        ("bytes=0-1,5-6", None),  # several ranges: the whole file
        ("items=0-1", None),
        ("bytes=x-y", None),
    ],
)
def test_ranges(header: str | None, expected: tuple[int, int] | None) -> None:
    assert serving.parse_range(header, 100) == expected


def test_a_range_outside_the_file_is_refused() -> None:
    with pytest.raises(RangeNotSatisfiable):
        serving.parse_range("bytes=100-", 100)


def test_include_exclude_as_huggingface_hub() -> None:
    files = tuple(RemoteFile(p, 1, None, "0") for p in ("a.bin", "b.json", "onnx/m.onnx"))
    assert [f.path for f in select(files, ["*.json", "onnx/"], None)] == ["b.json", "onnx/m.onnx"]
    assert [f.path for f in select(files, None, ["*.bin"])] == ["b.json", "onnx/m.onnx"]


def test_a_repo_id_names_one_model_and_new_versions_keep_it(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from airlock.api import vet
    from airlock.engine_choice import EngineChoice
    from airlock.registry.store import Registry

    monkeypatch.setenv("AIRLOCK_HOME", str(tmp_path))
    registry = Registry(f"sqlite:///{tmp_path / 'r.db'}")
    engine = EngineChoice(None, "test")

    def admit(name: str, content: str, repo_id: str | None) -> Record:
        folder = tmp_path / f"{name}-{content}"
        folder.mkdir(exist_ok=True)
        (folder / "config.json").write_text(content)
        vetted = vet(folder)
        return registry.admit(
            name, vetted.dossier, vetted.verdict, vetted.policy, engine, repo_id=repo_id
        )[0]

    unmirrored = admit("one", "{}", None)
    assert unmirrored.repo_id is None
    first = admit("one", "{}", "org/one")  # the same bytes again, now with a repo id
    assert first.version == unmirrored.version and first.repo_id == "org/one"
    second = admit("one", '{"a": 1}', None)
    assert second.repo_id == "org/one" and second.revision != first.revision
    with pytest.raises(repo_ids.RepoIdRefused, match="already the mirror's id of 'one'"):
        admit("two", '{"b": 2}', "org/one")
    assert [r.revision for r in registry.by_repo("org/one")] == [first.revision, second.revision]
    registry.close()


def test_admit_takes_the_repo_id_of_a_hugging_face_cache_and_refuses_a_taken_one(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    from airlock.cli import main
    from airlock.registry.store import Registry

    monkeypatch.setenv("AIRLOCK_HOME", str(tmp_path / "home"))
    monkeypatch.delenv("AIRLOCK_DATABASE_URL", raising=False)
    snapshot = tmp_path / "hub" / "models--acme--tiny" / "snapshots" / ("a" * 40)
    snapshot.mkdir(parents=True)
    (snapshot / "config.json").write_text("{}")
    forced = ["--force", "--reason", "test"]
    assert main(["admit", str(snapshot), "--name", "tiny", *forced]) == 0
    assert main(["admit", str(snapshot), "--name", "other", "--repo-id", "acme/tiny", *forced]) == 2
    assert (
        "--repo-id repo id 'acme/tiny' is already the mirror's id of 'tiny'"
        in capsys.readouterr().err
    )
    assert main(["admit", str(snapshot), "--name", "x", "--repo-id", "a/b/c", *forced]) == 2
    registry = Registry()
    record = registry.get("tiny")
    registry.close()
    assert record is not None and record.repo_id == "acme/tiny"
    assert record.revision == repo_ids.revision_of(record.manifest_digest)


def test_a_suspended_version_is_not_mirrored_and_main_does_not_fall_back(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from airlock.api import vet
    from airlock.engine_choice import EngineChoice
    from airlock.mirror.errors import Suspended
    from airlock.mirror.lookup import MirrorIndex
    from airlock.registry.store import Registry

    monkeypatch.setenv("AIRLOCK_HOME", str(tmp_path))
    registry = Registry(f"sqlite:///{tmp_path / 'r.db'}")

    def admit(content: str) -> Record:
        folder = tmp_path / f"m-{len(content)}"
        folder.mkdir()
        (folder / "config.json").write_text(content)
        vetted = vet(folder)
        engine = EngineChoice(None, "test")
        return registry.admit(
            "m", vetted.dossier, vetted.verdict, vetted.policy, engine, repo_id="org/m"
        )[0]

    old, new = admit("{}"), admit('{"a": 1}')
    index = MirrorIndex(registry)
    assert index.find("org/m", "main", None).version == new.version
    policy = vet(tmp_path / "m-2").policy
    assert registry.suspend("m", new.version, "a rule now refuses it", policy=policy)
    fresh = MirrorIndex(registry)  # the index caches lookups for two seconds
    with pytest.raises(Suspended, match="a rule now refuses it") as refused:
        fresh.find("org/m", "main", None)
    assert refused.value.status == 403
    with pytest.raises(Suspended):
        fresh.find("org/m", str(new.revision), None)
    assert fresh.find("org/m", str(old.revision), None).version == old.version  # pinned, passing
    registry.close()
