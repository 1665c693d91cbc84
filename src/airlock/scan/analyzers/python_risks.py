"""What a Python call means for someone who runs it: the risky names custom model code may
reach, by fully qualified name (aliases already resolved), with the rule each one falls under."""

from __future__ import annotations

import re
import tomllib
from dataclasses import dataclass
from functools import cache
from importlib import resources

from airlock.findings import Severity


@dataclass(frozen=True)
class Risk:
    rule_id: str
    severity: Severity
    what: str
    # Critical when the arguments are computed at run time or look malicious.
    escalates: bool = False


PROCESS = Risk("AIR702", Severity.HIGH, "runs an operating-system command", escalates=True)
DYNAMIC = Risk("AIR703", Severity.HIGH, "executes or imports code chosen at run time", True)
CODE_OBJECT = Risk("AIR703", Severity.HIGH, "builds a code or function object", True)
DESERIALIZE = Risk("AIR703", Severity.HIGH, "deserializes data in a format that can run code")
NATIVE = Risk("AIR703", Severity.HIGH, "loads or builds native code (ctypes, shared libraries)")
NETWORK = Risk("AIR704", Severity.MEDIUM, "talks to the network")
DOWNLOAD = Risk("AIR704", Severity.MEDIUM, "downloads files from the Hugging Face Hub")
FILE = Risk("AIR708", Severity.MEDIUM, "deletes or moves files")

# Names that are risky as values too (passed around, aliased), not only when called.
EXACT: dict[str, Risk] = {
    **dict.fromkeys(
        (
            "os.system", "os.popen", "os.posix_spawn", "os.posix_spawnp", "os.fork",
            "os.forkpty", "posix.system", "nt.system", "pty.spawn", "pty.fork",
            "subprocess.Popen", "subprocess.run", "subprocess.call", "subprocess.check_call",
            "subprocess.check_output", "subprocess.getoutput", "subprocess.getstatusoutput",
            "asyncio.create_subprocess_exec", "asyncio.create_subprocess_shell",
        ),
        PROCESS,
    ),
    "os.dup2": Risk("AIR702", Severity.HIGH, "rewires standard streams (reverse shell)", True),
    **dict.fromkeys(
        (
            "eval", "exec", "compile", "__import__", "importlib.import_module",
            "importlib.__import__", "importlib.util.spec_from_file_location",
            "importlib.machinery.SourceFileLoader",
        ),
        DYNAMIC,
    ),
    **dict.fromkeys(("types.CodeType", "types.FunctionType"), CODE_OBJECT),
    **dict.fromkeys(
        (
            "marshal.loads", "marshal.load", "pickle.loads", "pickle.load", "pickle.Unpickler",
            "_pickle.loads", "_pickle.load", "cPickle.loads", "cPickle.load", "dill.loads",
            "dill.load", "cloudpickle.loads", "cloudpickle.load", "joblib.load",
        ),
        DESERIALIZE,
    ),
    **dict.fromkeys(
        (
            "huggingface_hub.hf_hub_download", "huggingface_hub.snapshot_download",
            "file_download.hf_hub_download", "_snapshot_download.snapshot_download",
        ),
        DOWNLOAD,
    ),
    **dict.fromkeys(
        (
            "shutil.rmtree", "shutil.move", "os.remove", "os.unlink", "os.rmdir",
            "os.removedirs", "os.truncate",
        ),
        FILE,
    ),
}  # fmt: skip

# Whole families: any call into these modules (or names starting so) counts.
PREFIXES: tuple[tuple[str, Risk], ...] = (
    ("subprocess.", PROCESS),
    ("os.exec", PROCESS),
    ("os.spawn", PROCESS),
    ("commands.", PROCESS),
    ("runpy.", DYNAMIC),
    ("ctypes.", NATIVE),
    ("_ctypes.", NATIVE),
    ("socket.", NETWORK),
    # urllib.parse only splits and quotes strings; the rest of urllib fetches.
    ("urllib.request.", NETWORK),
    ("urllib.urlopen", NETWORK),
    ("urllib.urlretrieve", NETWORK),
    ("urllib2.", NETWORK),
    ("urllib3.", NETWORK),
    ("requests.", NETWORK),
    ("httpx.", NETWORK),
    ("http.client.", NETWORK),
    ("aiohttp.", NETWORK),
    ("ftplib.", NETWORK),
    ("smtplib.", NETWORK),
    ("telnetlib.", NETWORK),
    ("paramiko.", NETWORK),
    ("websocket.", NETWORK),
)

# Calls whose result is decoded bytes: code fed through them into exec/eval is hidden.
DECODERS = ("base64.", "binascii.", "codecs.decode", "zlib.decompress", "lzma.decompress",
            "bz2.decompress", "gzip.decompress", "bytes.fromhex", "marshal.loads")  # fmt: skip
# Ways of naming the importer by value, and mappings whose keys are names of builtins or modules.
IMPORTERS = frozenset({"__import__", "importlib.import_module", "importlib.__import__"})
NAMESPACES = frozenset(
    {"builtins", "__builtins__", "builtins.__dict__", "__builtins__.__dict__", "sys.modules"}
)
# Modules where a computed attribute name hides which function is reached.
SENSITIVE_MODULES = frozenset(
    {"os", "posix", "nt", "subprocess", "builtins", "__builtins__", "importlib", "sys", "ctypes",
     "socket", "pty"}
)  # fmt: skip

MALICIOUS_TEXT = re.compile(
    r"curl\s|wget\s|\bnc\s|ncat|netcat|/dev/tcp|bash\s+-i|\bsh\s+-c|/bin/(?:ba|z)?sh|rm\s+-rf|"
    r"chmod\s|base64\s+-d|powershell|mkfifo|\|\s*(?:ba)?sh\b|python[\d.]*\s+-c|__import__|"
    r"\bos\.system|\bsubprocess\b|\bexec\(|\beval\(|/etc/(?:passwd|shadow)|\.ssh\b|crontab",
    re.IGNORECASE,
)
# Whole name parts, so HF_TOKEN and OPENAI_API_KEY match but TOKENIZERS_PARALLELISM does not.
SECRET_NAME = re.compile(
    r"(?:^|_)(?:TOKEN|KEY|SECRET|PASSWORD|PASSWD|CREDENTIALS?|AUTH|APIKEY)(?:_|$)", re.IGNORECASE
)
SECRET_PATH = re.compile(
    r"\.ssh\b|id_rsa|id_ed25519|\.aws/|~/\.aws|\.netrc|\.git-credentials|huggingface/token|"
    r"\.docker/config\.json|\.kube/config|\.pypirc|/etc/shadow|/etc/passwd",
    re.IGNORECASE,
)
WRITE_MODES = frozenset("wax+")
PATH_WRITERS = frozenset({"write_text", "write_bytes", "unlink", "rmdir", "chmod", "rename"})
ENV_READERS = frozenset({"os.environ.get", "os.environ.pop", "os.getenv", "os.getenvb"})
BASE64_LIKE = re.compile(r"[A-Za-z0-9+/=_\-]+")
LONG_LITERAL = 10 * 1024


def classify(name: str) -> Risk | None:
    """The risk of calling `name` (fully qualified), or None for an ordinary call."""
    prefixed = (risk for s in _suffixes(name) for p, risk in PREFIXES if s.startswith(p))
    runner = any(s in _listed("calls", "runners") for s in _suffixes(name))
    native = any(s in _listed("calls", "native") for s in _suffixes(name))
    found = exact(name) or next(prefixed, None)
    return found or (DYNAMIC if runner else NATIVE if native else None)


def exact(name: str) -> Risk | None:
    """The risk of a function that is risky as a value too (see EXACT)."""
    return next((EXACT[s] for s in _suffixes(name) if s in EXACT), None)


def rerouted(name: str) -> bool:
    """Whether `name` is risky only through a module that re-exports it (`torch.os.system`)."""
    direct = name in EXACT or any(name.startswith(p) for p, _ in PREFIXES)
    return not direct and classify(name) is not None


def refers_to(name: str | None, target: str) -> bool:
    """`name` is `target`, or reaches it through a module that re-exports it."""
    return name is not None and (name == target or name.endswith("." + target))


def _suffixes(name: str) -> list[str]:
    # `from torch.serialization import os` re-exports os: judge what the name ends in.
    parts = name.split(".")
    return [name] + [".".join(parts[i:]) for i in range(1, len(parts) - 1)]


def is_decoder(name: str) -> bool:
    return name.startswith(DECODERS)


def looks_encoded(value: str) -> bool:
    """A long base64 or hex literal (line breaks allowed), not prose."""
    packed = "".join(value.split())
    return (
        len(packed) > LONG_LITERAL
        and len(packed) * 20 >= len(value) * 19
        and BASE64_LIKE.fullmatch(packed) is not None
    )


def star_names(module: str) -> dict[str, str]:
    """The risky names `from module import *` binds, by their bare name."""
    return {name.rpartition(".")[2]: name for name in EXACT if name.rpartition(".")[0] == module}


@cache
def _remote_code() -> dict[str, dict[str, list[str]]]:
    text = resources.files("airlock.data").joinpath("remote_code.toml").read_text("utf-8")
    return tomllib.loads(text)


@cache
def _listed(section: str, key: str) -> frozenset[str]:
    return frozenset(_remote_code()[section][key])


def command_module(name: str | None) -> bool:
    """Whether `name` is (or re-exports, as `torch.os` does) a module whose object alone is
    enough to run commands or code (data/remote_code.toml)."""
    if name is None:
        return False
    parts = name.split(".")
    modules = _listed("modules", "command_or_code")
    return any(".".join(parts[i:]) in modules for i in range(len(parts)))


def computed_idiom(name: str) -> bool:
    """Whether a computed attribute of `name` is an everyday modeling idiom (`getattr(nn, act)`).
    Names from relative imports are the folder's own modules, each of them analysed too."""
    return name.startswith(".") or any(
        name == p or name.startswith(p + ".") for p in _listed("modules", "computed_idioms")
    )


def risky_leaf(name: str) -> bool:
    return name in _listed("calls", "risky_leaves")


def runner_method(name: str) -> bool:
    return name in _listed("calls", "runner_methods")


def escape_attribute(name: str) -> bool:
    return name in _listed("attributes", "escapes")


def module_data(name: str) -> bool:
    return name in _listed("attributes", "module_data")
