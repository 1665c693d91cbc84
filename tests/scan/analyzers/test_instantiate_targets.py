"""Config instantiator targets judged by allowlist (issue 12): listed targets, denylisted ones
through re-exports and interpolations, unknown code, and the organization's trusted names."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from airlock.artifact import ArtifactFile
from airlock.findings import Severity
from airlock.scan.analyzers.instantiate_targets import (
    eval_resolver,
    judge_instantiate,
    resolve_references,
)
from airlock.scan.formats.yaml_reader import YamlReader
from airlock.scan.names.config_targets import judge_target, target_lists
from airlock.scan.names.pickle_globals import Status
from airlock.scan.registry import json_reader
from airlock.scan.scanner import Scanner


@pytest.mark.parametrize(
    ("key", "value", "rule", "severity"),
    [
        ("_target_", "torch.optim.AdamW", "AIR633", Severity.INFO),
        ("_target_", "lightning.pytorch.callbacks.ModelCheckpoint", "AIR633", Severity.INFO),
        ("_target_", "pytorch_lightning.loggers.TensorBoardLogger", "AIR633", Severity.INFO),
        ("_target_", "transformers.AutoModelForCausalLM.from_pretrained", "AIR633", Severity.INFO),
        ("_target_", "nemo.collections.asr.modules.ConformerEncoder", "AIR633", Severity.INFO),
        ("class_path", "EarlyStopping", "AIR633", Severity.INFO),  # jsonargparse short name
        ("_target_", "os.system", "AIR633", Severity.CRITICAL),
        ("_target_", " builtins.eval ", "AIR633", Severity.CRITICAL),
        ("_target_", "${oc.env:X,subprocess.run}", "AIR633", Severity.CRITICAL),
        ("_target_", "${fn}", "AIR635", Severity.HIGH),
        ("_target_", "os. system", "AIR635", Severity.HIGH),
        ("_target_", "eval", "AIR634", Severity.HIGH),  # a top-level module, imported
        ("_target_", "nemo.collections.asr.modules.os", "AIR634", Severity.HIGH),
        ("_target_", "nemo.collections.asr.modules.ConformerEncoder.os", "AIR634", Severity.HIGH),
        ("class_path", "my_lab.models.Net", "AIR634", Severity.HIGH),
        ("_target_", "hydra.utils.get_method", "AIR634", Severity.HIGH),
    ],
)
def test_targets(key: str, value: str, rule: str, severity: Severity) -> None:
    judged = judge_instantiate(key, value)
    assert (judged.rule, judged.severity) == (rule, severity)


def test_trusted_names_are_allowed_exactly() -> None:
    trusted = frozenset({"my_lab.models.Net"})
    assert judge_instantiate("_target_", "my_lab.models.Net", trusted).severity is Severity.INFO
    assert judge_instantiate("_target_", "my_lab.models.Other", trusted).severity is Severity.HIGH
    assert judge_target("os.system", frozenset({"os.system"})).status is Status.DANGEROUS


def test_lists_load_and_hold_no_dangerous_name() -> None:
    lists = target_lists()
    assert "torch.optim.Adam" in lists.names and "keras.layers.Dense" in lists.keras_names
    assert "relu" in lists.keras_functions
    for name in lists.names | lists.keras_names:
        assert judge_target(name).status is Status.ALLOWED, name
    assert not {"keras.layers.Lambda", "keras.layers.TFSMLayer"} & lists.keras_names


@pytest.mark.parametrize(
    ("value", "severity"),
    [
        ("${eval:'${model.dim} * 2 + 1'}", Severity.MEDIUM),
        ("${eval:${a} // 4}", Severity.MEDIUM),
        ('${eval:\'__import__("os").system("id")\'}', Severity.HIGH),
        ("${python:open('x').read()}", Severity.HIGH),
        ("${oc.env:HOME}", None),
    ],
)
def test_eval_resolver(value: str, severity: Severity | None) -> None:
    assert eval_resolver(value) == severity


VALUES = {"fn": "os.system", "a.b": "torch", "a.fn": "posix.system", "l.1": "x.y", "m": "os"}


@pytest.mark.parametrize(
    ("text", "node", "resolved"),
    [
        ("${fn}", [], "os.system"),
        ("${a.b}.optim.Adam", ["z"], "torch.optim.Adam"),
        ("${.fn}", ["a"], "posix.system"),
        ("${..fn}", ["a", "c"], "posix.system"),
        ("${l[1]}", [], "x.y"),
        ("${m}.${fn}", [], "os.os.system"),
        ("${missing}", [], None),
        ("${oc.env:X}", [], None),
        ("${...fn}", ["a"], None),
    ],
)
def test_resolve_references(text: str, node: list[str], resolved: str | None) -> None:
    assert resolve_references(text, node, VALUES) == resolved


def test_policy_trusted_targets_reach_yaml_and_json(tmp_path: Path) -> None:
    yaml_path = tmp_path / "config.yaml"
    yaml_path.write_text("model:\n  _target_: my_lab.models.Net\n  depth: 4\n")
    json_path = tmp_path / "config.json"
    json_path.write_text(json.dumps({"model": {"_target_": "my_lab.models.Net"}}))
    for path in (yaml_path, json_path):
        default = Scanner().scan_file(ArtifactFile(path, path.name)).findings
        assert [f.rule_id for f in default] == ["AIR634"]
        trusting = Scanner([YamlReader(["my_lab.models.Net"]), json_reader(["my_lab.models.Net"])])
        found = trusting.scan_file(ArtifactFile(path, path.name)).findings
        assert [(f.rule_id, f.severity) for f in found] == [("AIR633", Severity.INFO)]
