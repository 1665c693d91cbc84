"""What a reader should do about a finding of each severity, in words a non-expert can act on."""

from __future__ import annotations

from airlock.findings import Severity

ADVICE: dict[Severity, str] = {
    Severity.CRITICAL: (
        "Do not load this file: loading it runs code. Delete it, and get the model from a "
        "source you trust, preferably in a format that cannot run code (such as safetensors)."
    ),
    Severity.HIGH: (
        "Do not load this file until someone has reviewed it: it may run code when loaded, "
        "or it could not be checked."
    ),
    Severity.MEDIUM: (
        "Review before loading: this is unusual for a model file and could hide a payload."
    ),
    Severity.LOW: "Probably harmless, but worth a look before you rely on this file.",
    Severity.INFO: "For your information; no action needed.",
}
