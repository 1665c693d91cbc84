"""Stable rule ids: every finding names one, and each has a docs entry in docs/rules.md."""

from __future__ import annotations

import os
from dataclasses import dataclass

from airlock.findings import Severity

# Where the organization serves its copy of docs/ (a web server, a Git host's file view):
# findings then link to their rule's entry in rules.md (SARIF helpUri, the HTML report).
DOCS_URL_ENV = "AIRLOCK_DOCS_URL"

# What to do about a finding, by its rule's default severity: docs/rules.md and `airlock explain`.
ADVICE = {
    "critical": "Do not load the file. Get the model from a source you trust, in a format that "
    "cannot run code (safetensors, GGUF).",
    "high": "Review before loading: either the file may run code, or Airlock could not check it.",
    "medium": "Unusual for a model file; look at the evidence and decide.",
    "low": "Probably harmless; worth a look.",
    "info": "For information.",
}


@dataclass(frozen=True)
class Rule:
    id: str
    name: str
    default_severity: Severity
    summary: str
    cwe: int | None = None
    # What to do, where the severity's generic advice (written for model files) does not fit.
    action: str = ""

    @property
    def advice(self) -> str:
        return self.action or ADVICE[self.default_severity.label]

    @property
    def doc_url(self) -> str | None:
        """This rule's entry in docs/rules.md where `$AIRLOCK_DOCS_URL` serves docs/, else None
        (SARIF wants an absolute URI, and only the organization knows where its copy lives)."""
        base = os.environ.get(DOCS_URL_ENV, "").strip().rstrip("/")
        return f"{base}/rules.md#{self.id.lower()}" if base else None

    @property
    def cwe_url(self) -> str:
        return f"https://cwe.mitre.org/data/definitions/{self.cwe}.html" if self.cwe else ""


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
    Rule("AIR005", "file-polyglot", Severity.HIGH,
         "The file is valid as two or more formats at once (for example a pickle that is also "
         "a tar archive, or YAML text that is also a pickle), so different loaders read "
         "different content from the same bytes; it was scanned as each. Ordinary tools never "
         "write such files: it is a known way to hide a payload from scanners.", 436),
    Rule("AIR101", "pickle-dangerous-callable", Severity.CRITICAL,
         "Loading this pickle imports or calls a function that can run commands, "
         "execute code, touch files or the network.", 502),
    Rule("AIR102", "pickle-unknown-global", Severity.HIGH,
         "Loading this pickle imports something that is not on the allowlist of what "
         "ordinary checkpoints need (high when it is called or instantiated, medium when it "
         "is only referenced).", 502),
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
    Rule("AIR111", "pickle-gadget-call", Severity.CRITICAL,
         "Loading this pickle hands a class, function or object from outside the allowlist "
         "to allowlisted code that calls it or its methods while loading (for example "
         "`dict(x)` runs `x.keys()`, NumPy's random-state helper calls its second argument, "
         "dictionary keys are hashed): the outside code runs with data from the file.", 502),
    Rule("AIR112", "pickle-foreign-object-exposed", Severity.HIGH,
         "Loading this pickle hands a class, function or object from outside the allowlist "
         "to code that may call it or its methods while loading (an allowlisted function "
         "whose use of that argument is not recorded, or a dictionary key), a place ordinary "
         "model files never put one.", 502),
    Rule("AIR113", "pickle-foreign-state", Severity.CRITICAL,
         "Loading this pickle restores an object (BUILD, `__setstate__`) from state that is "
         "itself an object from outside the allowlist; restoring calls methods of the state "
         "(`state.items()`, `state.pop(...)`), so the outside code runs while loading.", 502),
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
         "`__class__`, `__globals__`, `__builtins__`), however the name is spelled (built "
         "from pieces such as `'%c'|format(95)`, `~`, `|join`, `|reverse`, slicing or a "
         "`{% set %}` block is the same name), the way CVE-2024-34359 runs commands when a "
         "loader renders the template outside a sandbox.", 1336),
    Rule("AIR502", "template-suspicious", Severity.HIGH,
         "A Jinja chat template uses what chat templates never need: Python builtins or "
         "module names, private attributes, or other template files (high; medium for an "
         "oversized `range`).", 1336),
    Rule("AIR503", "template-unparseable", Severity.MEDIUM,
         "A Jinja chat template does not parse, so its structure could not be inspected (its "
         "text was still searched for escape patterns). This Jinja version would refuse to "
         "render it; another template engine or version might not.", 20),
    Rule("AIR504", "template-unlisted-jinja", Severity.HIGH,
         "A Jinja chat template uses a filter, test, global function or tag that published "
         "chat templates do not use (Airlock allows only those, see "
         "`airlock/data/chat_template_jinja.toml`). A renderer with a custom environment may "
         "define such names, and Jinja's own `cycler`, `joiner` and `lipsum` lead to Python's "
         "globals. Do not render it outside a sandbox until it is understood.", 1336),
    Rule("AIR505", "template-computed-member", Severity.HIGH,
         "A Jinja chat template looks an attribute or key up by a name it builds while "
         "rendering (through `[...]`, `|attr`, `|map(attribute=)`, `|groupby`...) that "
         "cannot be read from the file: the way a template hides `__globals__` from a "
         "scanner. Real templates look members up by literal names or by conversation data.",
         1336),
    Rule("AIR506", "template-object-member", Severity.HIGH,
         "A Jinja chat template uses members or methods that chat templates do not use: an "
         "attribute of a Jinja object (`loop`, a global function, a macro), a method other "
         "than the string, list and dict methods templates call, or a Jinja object handed to "
         "a filter (`lipsum|string`): the steps of a sandbox escape.", 1336),
    Rule("AIR507", "template-os-access", Severity.CRITICAL,
         "A Jinja chat template names `os`, `popen`, `system`, `eval`, `exec`, `builtins`, "
         "`subprocess` or another way to the operating system or to Python's code execution "
         "(as a variable, attribute, key or argument, however spelled): rendered outside a "
         "sandbox it runs commands.", 78),
    Rule("AIR601", "keras-lambda-code", Severity.HIGH,
         "A Keras config carries Python code (a Lambda layer's marshalled bytecode or "
         "source) that runs when the model is loaded or called (CVE-2024-3660); critical when "
         "the code names commands, eval/exec or imports.", 94),
    Rule("AIR602", "keras-foreign-module", Severity.HIGH,
         "A Keras config names a class or function from a module outside Keras, which Keras "
         "before 3.9 imports and uses while loading (CVE-2025-1550); critical for callables "
         "that run commands or code (judged by what the module and name resolve to).", 470),
    Rule("AIR603", "keras-external-model", Severity.HIGH,
         "A Keras layer (TFSMLayer) loads a TensorFlow SavedModel from a path named in the "
         "config, outside the Keras safe-mode checks.", 829),
    Rule("AIR604", "keras-unsafe-function", Severity.HIGH,
         "A Keras config calls a Keras utility that downloads files (`get_file`, "
         "CVE-2025-8747) or turns safe mode off (`enable_unsafe_deserialization`, "
         "CVE-2025-9906, critical) while the model loads.", 829),
    Rule("AIR605", "keras-safe-mode-off", Severity.MEDIUM,
         "Keras metadata or config asks for `safe_mode` to be turned off.", None),
    Rule("AIR606", "keras-unlisted-function", Severity.HIGH,
         "A Keras config names a function (`\"class_name\": \"function\"`) that is not one of "
         "Keras's built-in activations, losses, metrics or initializers: Keras hands back "
         "whatever the module and name resolve to, and the model calls it; critical for "
         "Python builtins that evaluate code or open files.", 470),
    Rule("AIR607", "keras-custom-object", Severity.HIGH,
         "A Keras config needs a custom object registered under a package that is not "
         "Keras's own (`registered_name` `package>Name`): loading runs that package's code, "
         "which the model file does not contain.", 829),
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
         "commands or code (judged by what the name resolves to); high for every other tag "
         "that imports or builds something, whatever it names. `yaml.safe_load` refuses such "
         "files; plain-value tags (`!!python/tuple`) are not findings.", 502),
    Rule("AIR632", "yaml-unparseable", Severity.MEDIUM,
         "A YAML file does not parse (a syntax error, or nesting past libyaml's 1000 levels) "
         "or is not valid UTF-8/UTF-16, so PyYAML refuses it; its text was still searched for "
         "`python/` tags, since another YAML parser, or a loader reading it in another "
         "encoding, may accept it.", 20),
    Rule("AIR633", "config-instantiate-target", Severity.INFO,
         "A YAML or JSON config names classes or functions that Hydra's `instantiate` "
         "(`_target_`) or LightningCLI/jsonargparse (`class_path`) import and call with the "
         "config's arguments: info, listing them, when all are on the list of what ordinary "
         "configs instantiate (torch optimizers and layers, Lightning callbacks, ...); critical "
         "for callables that run commands or code, such as `os.system`, `builtins.eval` or "
         "`torch.os.system`.", 470),
    Rule("AIR634", "config-unknown-target", Severity.HIGH,
         "A config instantiator target (`_target_`, `class_path`) that is not on the list of "
         "what ordinary configs instantiate: instantiating the config imports that code and "
         "calls it with values from the file. An organization lists its own classes in its "
         "policy. Also an MLflow `MLmodel` whose `loader_module` is not one of MLflow's own "
         "flavors (`pyfunc.load_model` imports it and calls its `_load_pyfunc`).", 470),
    Rule("AIR635", "config-computed-target", Severity.HIGH,
         "A config instantiator target that is not a plain dotted name: an OmegaConf "
         "interpolation (`${...}`, resolved from another key, an environment variable or a "
         "resolver) or an odd spelling, so what it calls cannot be judged from the file "
         "(critical when it spells a dangerous callable).", 470),
    Rule("AIR636", "config-remote-code", Severity.HIGH,
         "An instantiated config passes `trust_remote_code: true`: the model it loads runs "
         "Python code from its repository, which the config does not contain.", 829),
    Rule("AIR637", "config-eval-resolver", Severity.HIGH,
         "A config uses an `${eval:...}`-style interpolation, which applications that register "
         "Python's `eval` as an OmegaConf resolver run as Python (high; medium when the "
         "expression is arithmetic on numbers and other interpolations).", 95),
    Rule("AIR638", "config-dangerous-name", Severity.HIGH,
         "A string value in an instantiated config names a callable that runs commands or "
         "code (`os.system`): jsonargparse turns import paths into callables for `Callable` "
         "parameters, and `hydra.utils.get_method` / `get_class` take such paths.", 470),
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
         "Custom Python code deletes or moves files (medium), or writes outside the model "
         "folder, to an absolute path or the home folder (high: how code persists, through "
         "cron jobs, shell profiles or site-packages).", 73),
    Rule("AIR715", "code-computed-lookup", Severity.HIGH,
         "Custom Python code looks up a name computed at run time in a module or namespace "
         "(`getattr(os, name)`, `os.__dict__[...]`, `vars(os)`, `globals()[...]`, "
         "`sys.modules[...]`, `operator.attrgetter`), so what it reaches cannot be read from the "
         "source; critical in modules that run commands or code (os, subprocess, builtins, sys, "
         "importlib), low in numeric namespaces where this is an idiom (`getattr(nn, act)`).",
         470),
    Rule("AIR716", "code-module-as-value", Severity.CRITICAL,
         "Custom Python code hands a module that runs commands or code (os, subprocess, builtins, "
         "sys, importlib, ...) or a namespace of names (`os.__dict__`, `globals()`, "
         "`sys.modules`) to other code as a value; the receiver can call anything in it by a "
         "name chosen at run time.", 470),
    Rule("AIR717", "code-introspection-escape", Severity.HIGH,
         "Custom Python code reaches `__subclasses__`, `__globals__`, `__builtins__`, frame "
         "globals or code objects: the steps from an ordinary object to every function in the "
         "interpreter. Modeling code does not need them.", 94),
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
         "A license text differs from the known license in words that can change its terms "
         "(a clause added or removed, a grant negated, a number changed; layout, names and the "
         "publisher's use policy do not count): compare it with the original.", None),
    Rule("AIR807", "license-use-restrictions", Severity.LOW,
         "The license restricts use: acceptable-use or field-of-use terms (often binding "
         "downstream users too), limits on training other models with outputs, geographic "
         "limits or share-alike.", None),
    Rule("AIR808", "license-commercial-conditions", Severity.LOW,
         "Commercial use is allowed only below a threshold (monthly active users or annual "
         "revenue); above it a separate license is needed.", None),
    Rule("AIR809", "license-inherited-terms-omitted", Severity.HIGH,
         "The model declares a base model (card `base_model`, adapter config, merge recipe, GGUF "
         "metadata) whose license binds what is built from it (custom, restricted, "
         "non-commercial or share-alike terms), and the model's own license omits or "
         "contradicts it: the base's terms apply all the same.", None),
    Rule("AIR810", "license-likely-inherited", Severity.MEDIUM,
         "The model card declares no base model, but the folder carries the signs of a known "
         "model family (its tokenizer's special tokens, vocabulary size, architecture): the "
         "model is likely derived from it, and that family's license duties likely apply. "
         "When the signs point to more than one family, the duties of all of them are taken "
         "to apply until someone settles it.", None),
    Rule("AIR811", "license-ancestor-unknown", Severity.HIGH,
         "The model declares a base model whose license Airlock does not know: a model built "
         "from another keeps that model's license, so its terms are unknown and never assumed "
         "to be permissive.", None),
    # `airlock data check`: the data an organization evaluates, fine-tunes or grounds with.
    Rule("AIR910", "data-file-not-read", Severity.MEDIUM,
         "A file in the data folder is in no format Airlock reads as data (binary, not UTF-8 "
         "text, or a link that leaves the folder), so it was not checked.", None,
         "Convert the file to JSONL, CSV, Parquet or UTF-8 text, or move it out of the data "
         "folder, and check again."),
    Rule("AIR911", "data-schema-error", Severity.HIGH,
         "A record does not have the shape its format requires (a missing or mistyped field, "
         "a file or id it names that does not exist): tools that read the format reject it or "
         "misread it.", 20,
         "Fix the record at the file and line given; the message names the field."),
    Rule("AIR912", "data-empty-record", Severity.MEDIUM,
         "A record, or a text field the format requires, is empty or only whitespace: it "
         "teaches or tests nothing and skews averages.", None,
         "Remove the record or fill in the field."),
    Rule("AIR913", "data-record-too-long", Severity.MEDIUM,
         "A record has more tokens (counted with the named model's own tokenizer) than the "
         "model reads: the model silently cuts it, or refuses it.", None,
         "Shorten or split the record, or choose a model with a longer context."),
    Rule("AIR920", "data-exact-duplicate", Severity.MEDIUM,
         "A record has the same text as an earlier one: duplicates weigh some items more than "
         "others in training and in every score.", None,
         "Remove the copies (keep one) unless the repetition is intended."),
    Rule("AIR921", "data-near-duplicate", Severity.LOW,
         "A record is nearly the same text as an earlier one (MinHash estimate of word "
         "3-gram overlap at or above the threshold).", None,
         "Look at the pairs listed and remove the copies that are the same item."),
    Rule("AIR922", "data-leakage", Severity.MEDIUM,
         "A record also appears in the other split (`--against`), or a BEIR query is judged "
         "in two splits: a model trained on one split has seen the answer to the other, so "
         "its scores there are too good.", None,
         "Remove the shared records from one of the splits."),
    Rule("AIR923", "data-near-leakage", Severity.MEDIUM,
         "A record is nearly the same text as a record of the other split (`--against`): "
         "scores on it measure memory more than skill.", None,
         "Look at the pairs listed and remove the shared items from one of the splits."),
    Rule("AIR930", "data-personal-data", Severity.HIGH,
         "A record holds personal data (an e-mail address, a phone number, a payment card "
         "number that passes the Luhn check, an IBAN that passes its checksum, a public IP "
         "address): a model trained or grounded on it can repeat it to anyone.", 359,
         "Remove or mask the value (the report shows where, never the value), or confirm "
         "that you may process it for this purpose."),
    Rule("AIR931", "data-secret", Severity.HIGH,
         "A record holds a secret (an API key or token of a known provider, a private key): a "
         "model trained or grounded on it can repeat it, and whoever has the data has the "
         "access.", 798,
         "Revoke the secret at its provider first, then remove it from the data."),
    Rule("AIR940", "data-label-imbalance", Severity.LOW,
         "One label is at least ten times as frequent as another: accuracy on such data says "
         "little about the rare labels.", None,
         "Look at the label counts; rebalance, or judge per label rather than overall."),
)  # fmt: skip

RULES: dict[str, Rule] = {rule.id: rule for rule in _RULES}


def rule(rule_id: str) -> Rule:
    return RULES[rule_id]
