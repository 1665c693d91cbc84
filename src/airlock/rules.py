"""Stable rule ids: every finding names one, and each has a docs entry in docs/rules.md."""

from __future__ import annotations

from dataclasses import dataclass

from airlock.findings import Severity


@dataclass(frozen=True)
class Rule:
    id: str
    name: str
    default_severity: Severity
    summary: str
    cwe: int | None = None


_RULES = (
    Rule("AIR001", "unparseable-file", Severity.HIGH,
         "A file in a model format could not be parsed, so it could not be inspected; "
         "loaders may still load it.", 20),
    Rule("AIR002", "uninspectable-container", Severity.HIGH,
         "A container Airlock cannot open (encrypted, or an unsupported archive format) "
         "could hide a payload.", None),
    Rule("AIR003", "resource-limit", Severity.HIGH,
         "The file exceeds a safety limit (size, nesting, decompression ratio); "
         "the rest of it was not inspected.", 400),
    Rule("AIR004", "unrecognized-model-file", Severity.HIGH,
         "A file named like a model file whose content matches no known format (high for "
         "names of formats that can run code, such as .pt or .pkl; medium for generic .bin or "
         ".dat names, which also hold raw tensor data).", 20),
    Rule("AIR101", "pickle-dangerous-callable", Severity.CRITICAL,
         "Loading this pickle imports or calls a function that can run commands, "
         "execute code, touch files or the network.", 502),
    Rule("AIR102", "pickle-unknown-global", Severity.HIGH,
         "Loading this pickle imports something that is not on the allowlist of what "
         "ordinary checkpoints need (high when it is called with arguments, medium when it "
         "is only referenced or instantiated empty).", 502),
    Rule("AIR103", "pickle-dynamic-call", Severity.HIGH,
         "Loading this pickle calls or imports a value computed while loading, a "
         "common way to hide a payload.", 502),
    Rule("AIR104", "pickle-attribute-overwrite", Severity.CRITICAL,
         "Loading this pickle overwrites attributes of a module or class, which can "
         "change how other code behaves.", 502),
    Rule("AIR105", "pickle-extension-code", Severity.HIGH,
         "The pickle refers to an extension-registry code; what it resolves to depends "
         "on the loading process and cannot be checked.", 502),
    Rule("AIR106", "pickle-broken-stream", Severity.HIGH,
         "The pickle stream breaks before its end; loaders run everything before the "
         "break, so this is a known way to evade scanners.", 20),
    Rule("AIR107", "pickle-trailing-data", Severity.LOW,
         "Bytes follow the end of the pickle stream that are not another pickle.", None),
    Rule("AIR108", "nested-payload", Severity.INFO,
         "Serialized bytes inside the file are handed to a deserializer when it loads; "
         "they were decoded and scanned as well.", None),
    Rule("AIR201", "archive-tampered", Severity.MEDIUM,
         "The archive's headers disagree with each other (names, flags, checksums); "
         "strict readers reject it but lenient loaders such as PyTorch still load it.", 345),
    Rule("AIR202", "archive-path-traversal", Severity.HIGH,
         "An archive member's path escapes the extraction folder.", 22),
    Rule("AIR203", "archive-link", Severity.MEDIUM,
         "An archive member is a link, which can point outside the extraction folder.", 59),
    Rule("AIR109", "embedded-pickle", Severity.MEDIUM,
         "A pickle is stored inside a data field (raw, base64 or hex). It does not run when "
         "this file loads, but runs if an application later deserializes that field; it was "
         "decoded and scanned.", 502),
    Rule("AIR110", "opaque-deserializer-input", Severity.HIGH,
         "Data computed while loading is handed to a deserializer (which can run code from "
         "it); what it receives cannot be known without loading the file.", 502),
    Rule("AIR301", "numpy-object-array", Severity.INFO,
         "A NumPy array of Python objects is stored as a pickle; it was scanned.", None),
    Rule("AIR900", "not-a-model-file", Severity.INFO,
         "The file is not in a model format and was not inspected.", None),
    Rule("AIR401", "safetensors-invalid-layout", Severity.MEDIUM,
         "The safetensors header breaks the format's rules (unknown dtype, tensor sizes that "
         "disagree with shapes, overlapping tensors, uncovered or trailing bytes, duplicate "
         "keys). The official loader rejects such files, so it was made or altered by other "
         "tools; uncovered bytes can hide data.", 20),
    Rule("AIR402", "safetensors-metadata", Severity.INFO,
         "The safetensors `__metadata__` strings; they are plain text that loading never "
         "executes.", None),
    Rule("AIR403", "safetensors-metadata-suspicious", Severity.LOW,
         "A safetensors metadata string looks like code, a shell command or a URL. The format "
         "cannot execute it, but a tool that copies metadata into a shell or a web page might.",
         None),
    Rule("AIR411", "gguf-invalid-layout", Severity.MEDIUM,
         "The GGUF tensor index breaks the format's rules (unknown tensor type, data outside "
         "the file or misaligned, overlapping tensors); loaders reject or misread such files.",
         20),
    Rule("AIR501", "template-sandbox-escape", Severity.CRITICAL,
         "A Jinja chat template reaches Python internals (dunder attributes such as "
         "`__class__`, `__globals__`, `__builtins__`), the way CVE-2024-34359 runs commands "
         "when a loader renders the template outside a sandbox.", 1336),
    Rule("AIR502", "template-suspicious", Severity.HIGH,
         "A Jinja chat template uses what chat templates never need: Python builtins or OS "
         "names, private attributes, attribute names computed at render time, or other "
         "template files (high; medium for a bare reference to a Jinja global that escapes "
         "use as a gadget, such as `cycler`, or an oversized `range`).", 1336),
    Rule("AIR503", "template-unparseable", Severity.MEDIUM,
         "A Jinja chat template does not parse, so its structure could not be inspected (its "
         "text was still searched for escape patterns). This Jinja version would refuse to "
         "render it; another template engine or version might not.", 20),
    Rule("AIR601", "keras-lambda-code", Severity.HIGH,
         "A Keras config carries Python code (a Lambda layer's marshalled bytecode or "
         "source) that runs when the model is loaded or called (CVE-2024-3660); critical when "
         "the code names commands, eval/exec or imports.", 94),
    Rule("AIR602", "keras-foreign-module", Severity.MEDIUM,
         "A Keras config names a class or function from a module outside Keras, which older "
         "Keras versions import while loading (CVE-2025-1550); critical for modules and "
         "builtins that run commands or code.", 470),
    Rule("AIR603", "keras-external-model", Severity.HIGH,
         "A Keras layer (TFSMLayer) loads a TensorFlow SavedModel from a path named in the "
         "config, outside the Keras safe-mode checks.", 829),
    Rule("AIR604", "keras-unsafe-function", Severity.HIGH,
         "A Keras config calls a Keras utility that downloads files (`get_file`, "
         "CVE-2025-8747) or turns safe mode off (`enable_unsafe_deserialization`, "
         "CVE-2025-9906, critical) while the model loads.", 829),
    Rule("AIR605", "keras-safe-mode-off", Severity.MEDIUM,
         "Keras metadata or config asks for `safe_mode` to be turned off.", None),
    Rule("AIR611", "onnx-external-data-escape", Severity.HIGH,
         "An ONNX tensor's external data lives outside the model folder (absolute path, `..`, "
         "drive or UNC path, or a link leading out): loading reads that file into the model "
         "(CVE-2022-25882, CVE-2024-27318).", 22),
    Rule("AIR612", "onnx-external-data-link", Severity.HIGH,
         "An ONNX external-data file is a symbolic or hard link (or sits under a linked "
         "folder), so loading may read a file other than the one shipped.", 59),
    Rule("AIR613", "onnx-custom-op-domain", Severity.MEDIUM,
         "ONNX nodes use operators from a non-standard domain, which only load with a custom "
         "operator library (native code); info for ONNX Runtime's built-in contrib domains.",
         None),
    Rule("AIR621", "tf-risky-op", Severity.HIGH,
         "A TensorFlow graph uses an op that runs Python, reads or writes files, or talks to "
         "the network (severity per op; routine checkpoint ops are info).", 94),
    Rule("AIR631", "yaml-python-object", Severity.CRITICAL,
         "A YAML file carries PyYAML `python/` tags (`!!python/object/apply:`, `/new:`, "
         "`/object:`, `/name:`, `/module:`), which make an unsafe loader (`yaml.unsafe_load`, "
         "`yaml.load` with `Loader` or `UnsafeLoader`, `FullLoader` before PyYAML 5.4, ruamel's "
         "`typ='unsafe'`) import and call what the tag names. Critical for callables that run "
         "commands or code (the pickle denylist); high for a call or instance of anything else, "
         "medium for a bare import, low when what it names is on the pickle allowlist. "
         "`yaml.safe_load` refuses such files.", 502),
    Rule("AIR632", "yaml-unparseable", Severity.MEDIUM,
         "A YAML file does not parse (a syntax error, or nesting past libyaml's 1000 levels) "
         "or is not valid UTF-8/UTF-16, so PyYAML refuses it; its text was still searched for "
         "`python/` tags, since another YAML parser, or a loader reading it in another "
         "encoding, may accept it.", 20),
    Rule("AIR633", "config-instantiate-target", Severity.INFO,
         "A YAML config names classes or functions that Hydra's `instantiate` (`_target_`) or "
         "LightningCLI/jsonargparse (`class_path`) import and call with the config's arguments "
         "(info, listing them; critical for callables that run commands or code, such as "
         "`os.system` or `builtins.eval`).", 470),
    Rule("AIR205", "loader-stream-desync", Severity.HIGH,
         "The loader reads bytes from the file that Airlock cannot locate exactly as the loader "
         "would (joblib array bytes of an unresolvable dtype or shape, a pickle frame that "
         "outlasts its stream, a legacy PyTorch member whose raw records do not add up, bytes "
         "after a joblib pickle); what the loader runs next could not be inspected.", 436),
    Rule("AIR206", "zip-readers-disagree", Severity.HIGH,
         "Zip readers would see different members in this archive (an end-of-central-directory "
         "record PyTorch's miniz finds where others do not, members sharing a name or bytes, "
         "local headers naming other members); every reading was scanned, but such a file is "
         "built to show scanners something else than loaders.",
         436),
    Rule("AIR204", "archive-special-file", Severity.MEDIUM,
         "An archive member is a device file or a FIFO; extracting it (as root) creates a "
         "special file, which a model never needs.", None),
    Rule("AIR701", "custom-code-present", Severity.INFO,
         "A Python file in the model folder: custom code that loading with "
         "`trust_remote_code=True` imports and runs. Review it; risky calls are separate "
         "findings.", None),
    Rule("AIR702", "code-runs-commands", Severity.CRITICAL,
         "Custom Python code runs operating-system commands (os.system, subprocess, os.exec*, "
         "pty.spawn); high when the command is fixed text that looks harmless.", 78),
    Rule("AIR703", "code-dynamic-execution", Severity.HIGH,
         "Custom Python code executes or imports code chosen at run time (eval, exec, "
         "__import__, importlib), builds code objects, calls native code (ctypes) or "
         "deserializes pickles (torch.load without weights_only=True); critical when what runs "
         "is computed or looks malicious.", 94),
    Rule("AIR704", "code-network", Severity.MEDIUM,
         "Custom Python code talks to the network (sockets, HTTP clients, Hub downloads).",
         None),
    Rule("AIR705", "code-credential-access", Severity.HIGH,
         "Custom Python code reads secrets: environment variables named like tokens or keys, "
         "credential files (~/.ssh, ~/.aws, .netrc), or sends the environment over the "
         "network.", 522),
    Rule("AIR706", "code-obfuscation", Severity.HIGH,
         "Custom Python code hides what it does: runs decoded or decompressed data, computes "
         "attribute names of os & co. at run time, or carries long encoded literals.", 506),
    Rule("AIR707", "code-unparseable", Severity.HIGH,
         "A Python file could not be parsed (syntax error, bad encoding), so it could not be "
         "inspected; another Python version may still run it.", 20),
    Rule("AIR708", "code-file-modification", Severity.MEDIUM,
         "Custom Python code deletes or moves files, or writes to absolute paths outside the "
         "model folder.", 73),
    Rule("AIR711", "auto-map-custom-code", Severity.HIGH,
         "A Hugging Face config maps a model class to code in the folder (`auto_map`, "
         "`custom_pipelines`); loading with `trust_remote_code=True` imports and runs it.", 94),
    Rule("AIR712", "auto-map-remote-code", Severity.HIGH,
         "A Hugging Face config maps a class to code in another Hub repository "
         "(`org/repo--module.Class`); loading fetches and runs code that is not in the folder "
         "and could not be inspected.", 829),
    Rule("AIR713", "auto-map-missing-code", Severity.HIGH,
         "A Hugging Face config names a module file that is not in the folder: the code that "
         "would run is not here to inspect.", 829),
    Rule("AIR714", "remote-code-setting", Severity.MEDIUM,
         "A config sets `trust_remote_code: true` (so a loader that honours it runs custom code "
         "without being asked) or pins `code_revision` (info).", None),
    Rule("AIR801", "license-missing", Severity.HIGH,
         "No license found: no `license` in the model card, no LICENSE text, no GGUF "
         "`general.license`. Without a license there is no right to use the model.", None),
    Rule("AIR802", "license-unknown", Severity.HIGH,
         "A source names a license, or holds a license text, that Airlock does not know; its "
         "terms are unknown and are never assumed to be permissive.", None),
    Rule("AIR803", "license-other-unresolved", Severity.HIGH,
         "The model card says `license: other` but `license_name`/`license_link` name no "
         "license Airlock knows.", None),
    Rule("AIR804", "license-sources-disagree", Severity.HIGH,
         "The model card, LICENSE texts and GGUF metadata name different licenses; until "
         "settled, the terms of all of them are taken to apply.", None),
    Rule("AIR805", "license-non-commercial", Severity.MEDIUM,
         "The license forbids commercial use (research or non-commercial terms); gate on it with "
         "`--fail-on medium` or the JSON `commercial_use` field.", None),
    Rule("AIR806", "license-text-modified", Severity.MEDIUM,
         "A license text matches a known license only partly (sentences added, changed or "
         "removed): compare it with the original, an edit can change the terms.", None),
    Rule("AIR807", "license-use-restrictions", Severity.LOW,
         "The license restricts use: acceptable-use or field-of-use terms (often binding "
         "downstream users too), limits on training other models with outputs, geographic "
         "limits or share-alike.", None),
    Rule("AIR808", "license-commercial-conditions", Severity.LOW,
         "Commercial use is allowed only below a threshold (monthly active users or annual "
         "revenue); above it a separate license is needed.", None),
)  # fmt: skip

RULES: dict[str, Rule] = {rule.id: rule for rule in _RULES}


def rule(rule_id: str) -> Rule:
    return RULES[rule_id]
