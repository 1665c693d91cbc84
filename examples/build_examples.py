"""Rebuild the bundled example models in examples/models (committed; run only to refresh them).

- clean-classifier/: a tiny PyTorch state_dict saved with torch.save (zip format).
- suspicious-upload/: the same checkpoint with a pickle payload slipped in (a harmless canary:
  if anything ever loads it, it writes CANARY-FIRED.txt in the current directory), saved as
  `pytorch_model.bin` the way attackers disguise raw pickles.
"""

from __future__ import annotations

import pickletools
from pathlib import Path

HERE = Path(__file__).resolve().parent / "models"


def canary_pickle() -> bytes:
    # Assembled opcode by opcode: builtins.exec("open('CANARY-FIRED.txt','w').write(...)")
    code = "open('CANARY-FIRED.txt','w').write('an example model ran code when it was loaded')"
    encoded = code.encode()
    stream = (
        b"\x80\x02"
        + b"cbuiltins\nexec\n"
        + b"X"
        + len(encoded).to_bytes(4, "little")
        + encoded
        + b"\x85R."
    )
    list(pickletools.genops(stream))  # validates the assembly without running it
    return stream


def main() -> None:
    import torch

    torch.manual_seed(0)
    clean = HERE / "clean-classifier"
    clean.mkdir(parents=True, exist_ok=True)
    state = {"linear.weight": torch.randn(2, 4), "linear.bias": torch.zeros(2)}
    torch.save(state, clean / "model.pt")
    (clean / "README.md").write_text(_card("clean-classifier", "A 4-feature linear classifier."))

    bad = HERE / "suspicious-upload"
    bad.mkdir(parents=True, exist_ok=True)
    (bad / "pytorch_model.bin").write_bytes(canary_pickle())
    (bad / "README.md").write_text(_card("suspicious-upload", "Looks like a checkpoint; is not."))


def _card(name: str, text: str) -> str:
    # A license in the card, so that `airlock vet` judges the files, not a missing license.
    return f"---\nlicense: apache-2.0\n---\n# {name}\n\n{text}\n"


if __name__ == "__main__":
    main()
