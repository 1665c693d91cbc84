"""Re-vetting inside the server: `RevetSchedule` re-vets at start what was vetted under another
policy or rule set, notices a policy edited while serving, runs everything on its interval, and
`airlock serve --revet-every` starts it (a bad duration is a usage error)."""

from __future__ import annotations

import queue
import socket
import time
from pathlib import Path
from typing import Any

import pytest

from airlock.cli import main
from airlock.policy.schema import default_policy, load_policy
from airlock.registry.store import Registry
from airlock.revet.run import Outcome
from airlock.revet.schedule import RevetSchedule

from .conftest import DENY_APACHE, admit, model, only, policy

# How long a test waits for the background thread before it fails (not a speed goal: a run
# takes well under a second here).
PATIENCE_S = 120


def runs() -> tuple[queue.Queue[list[Outcome]], Any]:
    heard: queue.Queue[list[Outcome]] = queue.Queue()
    return heard, heard.put


def test_digest_change_at_start_then_a_policy_edit_while_serving(
    home: Path, registry: Registry, tmp_path: Path
) -> None:
    admit(model(tmp_path / "llm"), "llm")  # vetted under the default policy
    path = policy(tmp_path, "ours")
    lines: list[str] = []
    heard, ran = runs()
    schedule = RevetSchedule(
        registry, lambda: load_policy(path), 3600, lines.append, check_s=0.05, ran=ran
    )
    schedule.start()
    try:
        (first,) = heard.get(timeout=PATIENCE_S)  # at start: another policy digest
        assert first.status == "passed"
        assert only(registry, "llm").vetted_policy_digest == load_policy(path).digest
        assert "re-vetting 1 version(s) (vetted under another policy or rule set)" in lines[0]
        path.write_text(path.read_text() + DENY_APACHE)  # edited while serving
        (second,) = heard.get(timeout=PATIENCE_S)
        assert second.status == "suspended"
    finally:
        schedule.stop()
    assert only(registry, "llm").suspended_reason == second.reason
    assert lines[-1] == f"suspended llm v1: {second.reason}"


def test_the_interval_revets_everything_even_with_nothing_changed(
    home: Path, registry: Registry, tmp_path: Path
) -> None:
    admit(model(tmp_path / "llm"), "llm")
    lines: list[str] = []
    heard, ran = runs()
    schedule = RevetSchedule(registry, default_policy, 0.05, lines.append, ran=ran)
    schedule.start()
    try:
        outcomes = [heard.get(timeout=PATIENCE_S) for _ in range(2)]  # two scheduled runs
    finally:
        schedule.stop()
    assert [[o.status for o in run] for run in outcomes] == [["passed"], ["passed"]]
    assert all("(scheduled)" in line for line in lines)


def test_nothing_to_do_does_nothing(home: Path, registry: Registry, tmp_path: Path) -> None:
    admit(model(tmp_path / "llm"), "llm")
    schedule = RevetSchedule(registry, default_policy, 3600, pytest.fail)
    assert schedule.run_once(full=False) == []


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--revet-every", "daily"], "expected a time above 0"),
        (["--revet-every", "0"], "expected a time above 0"),
        (["--revet-every", "24x"], "expected a time above 0"),
        (["--policy", "p.yaml"], "p.yaml"),
        (["--revet-every", "1h", "--policy", "/no/such.yaml"], "cannot read the policy"),
    ],
)
def test_serve_refuses_bad_revet_options_with_exit_2(
    home: Path, capsys: pytest.CaptureFixture[str], args: list[str], message: str
) -> None:
    pytest.importorskip("fastapi")
    try:
        code = main(["serve", "--port", str(_free_port()), *args])
    except SystemExit as exit_:  # argparse's type errors
        code = int(exit_.code or 0)
    assert code == 2
    err = capsys.readouterr().err
    assert message in err and len(err.strip().splitlines()) == 1


def test_serve_revets_at_start_when_the_policy_changed(
    home: Path,
    registry: Registry,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    uvicorn = pytest.importorskip("uvicorn")
    admit(model(tmp_path / "llm"), "llm")
    deny = policy(tmp_path, "no-apache", DENY_APACHE)

    def serving(app: object, **options: object) -> None:
        """Stands in for the server: returns once the schedule has suspended the model."""
        deadline = time.monotonic() + PATIENCE_S
        while only(registry, "llm").suspended_reason is None:
            assert time.monotonic() < deadline, "the start revet did not happen"
            time.sleep(0.05)

    monkeypatch.setattr(uvicorn, "run", serving)
    port = str(_free_port())
    assert main(["serve", "--port", port, "--revet-every", "24h", "--policy", str(deny)]) == 0
    out = capsys.readouterr().out
    assert "airlock: revet: re-vetting 1 version(s) (vetted under another policy" in out
    assert "airlock: revet: suspended llm v1: policy 'no-apache' now refuses it" in out
    # The next start says the gateway does not serve it, and why.
    assert main(["serve", "--port", port]) == 0
    assert "airlock: not serving llm: SUSPENDED: policy 'no-apache'" in capsys.readouterr().out


def test_serve_without_a_schedule_warns_of_versions_vetted_under_other_rules(
    home: Path,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    uvicorn = pytest.importorskip("uvicorn")
    admit(model(tmp_path / "llm"), "llm")
    monkeypatch.setattr(uvicorn, "run", lambda app, **kw: None)
    monkeypatch.setattr("airlock.ruleset.ruleset_digest", lambda: "sha256:newer-rules")
    assert main(["serve", "--port", str(_free_port())]) == 0
    out = capsys.readouterr().out
    assert "1 admitted version(s) were last vetted under another rule set" in out


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def test_a_new_rule_set_makes_every_version_due_once(
    home: Path, registry: Registry, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    admit(model(tmp_path / "llm"), "llm")
    schedule = RevetSchedule(registry, default_policy, 3600, lambda line: None)
    assert schedule.run_once(full=False) == []  # vetted under today's rules at admission
    for module in ("airlock.revet.run", "airlock.registry.store"):  # an upgraded Airlock
        monkeypatch.setattr(f"{module}.ruleset_digest", lambda: "sha256:upgraded")
    (outcome,) = schedule.run_once(full=False)
    assert outcome.status == "passed"
    assert only(registry, "llm").vetted_ruleset_digest == "sha256:upgraded"
    assert schedule.run_once(full=False) == []


def test_the_rule_set_digest_covers_the_rule_table(monkeypatch: pytest.MonkeyPatch) -> None:
    from dataclasses import replace

    from airlock import ruleset
    from airlock.findings import Severity

    today = ruleset.ruleset_digest()
    assert today.startswith("sha256:") and today == ruleset.ruleset_digest.__wrapped__()
    rules = dict(ruleset.RULES)
    rules["AIR001"] = replace(rules["AIR001"], default_severity=Severity.CRITICAL)
    monkeypatch.setattr(ruleset, "RULES", rules)
    assert ruleset.ruleset_digest.__wrapped__() != today


def test_the_rule_set_digest_reads_vetting_knowledge_only(tmp_path: Path) -> None:
    from airlock import ruleset

    (tmp_path / "licenses").mkdir()
    (tmp_path / "licenses" / "knowledge.toml").write_text("x = 1")
    (tmp_path / "pickle_allowlist.toml").write_text("y = 2")
    (tmp_path / "policy").mkdir()  # the policy has its own digest
    (tmp_path / "policy" / "default.yaml").write_text("version: 1")
    (tmp_path / "prices.toml").write_text("z = 3")  # never changes a verdict
    assert ruleset._files(tmp_path, "") == [
        ("licenses/knowledge.toml", b"x = 1"),
        ("pickle_allowlist.toml", b"y = 2"),
    ]
