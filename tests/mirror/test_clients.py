"""The real huggingface_hub, transformers and sentence-transformers clients, with HF_ENDPOINT on
a live `airlock serve`: admitted models download and load; the others are refused."""

from __future__ import annotations

import hashlib
from pathlib import Path

import httpx

from airlock.registry.store import Registry

from .conftest import Server, create_key


def _manifest(server: Server, name: str) -> dict[str, str]:
    registry = Registry(f"sqlite:///{server.home / 'airlock.db'}")
    try:
        record = registry.get(name)
        assert record is not None
        return {f.path: f.sha256 for f in record.files}
    finally:
        registry.close()


def test_clients_download_and_load_admitted_models(upstream: Server, tmp_path: Path) -> None:
    result = upstream.client_run(
        """
        import hashlib, json, os
        from huggingface_hub import HfApi, hf_hub_download, snapshot_download
        from sentence_transformers import SentenceTransformer
        from transformers import AutoModel, AutoTokenizer

        folder = snapshot_download("org/minilm")
        files = {}
        for root, _, names in os.walk(folder):
            for name in names:
                path = os.path.join(root, name)
                with open(path, "rb") as f:
                    files[os.path.relpath(path, folder)] = hashlib.sha256(f.read()).hexdigest()
        info = HfApi().model_info("org/minilm")
        config = hf_hub_download("org/tiny-bert", "config.json")
        pinned = hf_hub_download("org/minilm", "modules.json", revision=info.sha)
        embeddings = SentenceTransformer("org/minilm").encode(["a cat", "a kitten", "tax law"])
        model = AutoModel.from_pretrained("org/tiny-bert")
        tokens = AutoTokenizer.from_pretrained("org/tiny-bert")("the quick brown fox")
        print(json.dumps({
            "snapshot": os.path.basename(folder),
            "files": files,
            "sha": info.sha,
            "siblings": {s.rfilename: [s.size, s.lfs.sha256] for s in info.siblings},
            "config": os.path.basename(config),
            "pinned": pinned.endswith("modules.json"),
            "similar": float(embeddings[0] @ embeddings[1]),
            "dissimilar": float(embeddings[0] @ embeddings[2]),
            "hidden": model.config.hidden_size,
            "tokens": len(tokens["input_ids"]),
        }))
        """,
        hf_home=tmp_path / "hf",
    )
    manifest = _manifest(upstream, "minilm")
    assert result["files"] == manifest  # every admitted file, byte for byte, and nothing else
    assert result["snapshot"] == result["sha"] and len(str(result["sha"])) == 40
    siblings = result["siblings"]
    assert isinstance(siblings, dict)
    assert {path: value[1] for path, value in siblings.items()} == manifest
    assert result["config"] == "config.json" and result["pinned"]
    assert float(str(result["similar"])) > float(str(result["dissimilar"]))  # real MiniLM
    assert result["hidden"] == 32 and int(str(result["tokens"])) > 2


def test_refused_repositories_keys_and_bytes(upstream: Server, tmp_path: Path) -> None:
    narrow = create_key(upstream.home, "narrow", ["tiny-bert"])
    script = """
        import json
        from huggingface_hub import hf_hub_download, model_info
        from huggingface_hub.errors import HfHubHTTPError, LocalEntryNotFoundError

        def outcome(call):
            try:
                call()
                return ["ok", ""]
            except (HfHubHTTPError, LocalEntryNotFoundError) as exc:
                chain = f"{exc} {exc.__cause__ or ''} {exc.__context__ or ''}"
                return [type(exc).__name__, chain]

        print(json.dumps({
            "unknown": outcome(lambda: model_info("org/not-admitted")),
            "unknown_file": outcome(lambda: hf_hub_download("org/not-admitted", "config.json")),
            "secret": outcome(lambda: model_info("org/secret")),
            "allowed": outcome(lambda: model_info("org/tiny-bert")),
            "tampered": outcome(lambda: hf_hub_download("org/tampered", "model.safetensors")),
            "large": outcome(lambda: hf_hub_download("org/tampered-large", "model.safetensors")),
        }))
    """
    narrow_result = upstream.client_run(script, token=narrow, hf_home=tmp_path / "narrow")
    assert narrow_result["unknown"][0] == "RepositoryNotFoundError"  # type: ignore[index]
    assert "airlock pull org/not-admitted" in narrow_result["unknown"][1]  # type: ignore[index]
    assert narrow_result["unknown_file"][0] in (
        "RepositoryNotFoundError",
        "LocalEntryNotFoundError",
    )  # type: ignore[index]
    # A key that may not use a model gets the answer for a model that does not exist.
    assert narrow_result["secret"][0] == "RepositoryNotFoundError"  # type: ignore[index]
    assert narrow_result["allowed"][0] == "ok"  # type: ignore[index]

    full = upstream.client_run(script, hf_home=tmp_path / "full")
    assert full["secret"][0] == "ok"  # type: ignore[index]
    for case in ("tampered", "large"):  # read whole first; streamed and cut short
        kind, message = full[case]  # type: ignore[misc]
        assert kind != "ok" and "does not match its admitted hash" in message, case
    cached = list((tmp_path / "full" / "hub").rglob("model.safetensors"))
    assert not [p for p in cached if p.is_file()]  # no tampered file reached the cache

    no_key = httpx.get(f"{upstream.url}/api/models/org/tiny-bert")
    assert no_key.status_code == 401 and "HF_TOKEN" in no_key.headers["X-Error-Message"]


def test_resolve_headers_ranges_and_tree(upstream: Server) -> None:
    headers = {"Authorization": f"Bearer {upstream.key}"}
    url = f"{upstream.url}/org/tiny-bert/resolve/main/model.safetensors"
    head = httpx.head(url, headers=headers)
    data = httpx.get(url, headers=headers).content
    digest = hashlib.sha256(data).hexdigest()
    assert head.status_code == 200 and head.headers["Content-Length"] == str(len(data))
    assert head.headers["X-Linked-Etag"] == head.headers["ETag"] == f'"{digest}"'
    assert head.headers["X-Linked-Size"] == str(len(data))
    assert len(head.headers["X-Repo-Commit"]) == 40
    part = httpx.get(url, headers={**headers, "Range": "bytes=10-99"})
    assert part.status_code == 206 and part.content == data[10:100]
    assert part.headers["Content-Range"] == f"bytes 10-99/{len(data)}"
    tail = httpx.get(url, headers={**headers, "Range": "bytes=-5"})
    assert tail.content == data[-5:]
    beyond = httpx.get(url, headers={**headers, "Range": f"bytes={len(data)}-"})
    assert beyond.status_code == 416
    missing = httpx.head(f"{upstream.url}/org/tiny-bert/resolve/main/nope.json", headers=headers)
    assert missing.status_code == 404 and missing.headers["X-Error-Code"] == "EntryNotFound"
    assert missing.headers["X-Repo-Commit"] == head.headers["X-Repo-Commit"]
    other = httpx.get(
        f"{upstream.url}/org/tiny-bert/resolve/{'0' * 40}/config.json", headers=headers
    )
    assert other.status_code == 404 and other.headers["X-Error-Code"] == "RevisionNotFound"
    tree = httpx.get(f"{upstream.url}/api/models/org/minilm/tree/main", headers=headers).json()
    assert {"type": "directory", "path": "1_Pooling"} in [
        {k: e[k] for k in ("type", "path")} for e in tree
    ]
    pooling = httpx.get(
        f"{upstream.url}/api/models/org/minilm/tree/main/1_Pooling", headers=headers
    )
    assert [e["path"] for e in pooling.json()] == ["1_Pooling/config.json"]
    nowhere = httpx.get(f"{upstream.url}/api/models/org/minilm/tree/main/none", headers=headers)
    assert nowhere.status_code == 404 and nowhere.headers["X-Error-Code"] == "EntryNotFound"
