"""`airlock sign` and `airlock verify`: OpenSSF model signatures, made and checked offline."""

from __future__ import annotations

import argparse
import os
from pathlib import Path
from typing import TYPE_CHECKING, Any

from airlock.cli.errors import USAGE_ERROR, print_error

if TYPE_CHECKING:
    from rich.console import Console

NOT_VERIFIED = 1

_SIGN_DESCRIPTION = """\
Sign every file of a model with your private key (OpenSSF model signing: a Sigstore
bundle holding the sha256 of each file, signed offline). Whoever holds the public key, or
trusts your certificate, can then tell with `airlock verify` that not one byte changed."""

_SIGN_EPILOG = """\
keys: an elliptic-curve key (P-256, P-384 or P-521) in PEM; make a pair with openssl:
  openssl ecparam -name prime256v1 -genkey -noout | openssl pkcs8 -topk8 -nocrypt -out key.pem
  openssl ec -in key.pem -pubout -out key.pub
with --certificate, the signature carries your signing certificate (and --chain), and is
verified against the certificates the verifier trusts (docs/provenance.md).

Links may point anywhere inside the folder (a Hugging Face cache snapshot links into
blobs/); a link that leaves it is refused. .git, .github, .gitignore and .gitattributes
are not signed, as with model-signing's own CLI.

exit codes:
  0  signed
  2  usage error: missing or unusable PATH, key or certificate

examples:
  airlock sign ./some-model/ --key key.pem                # writes ./some-model.sig
  airlock sign ./some-model/ --key key.pem --signature approved/some-model.sig
  airlock sign ./some-model/ --key key.pem --certificate signer.crt --chain ca.crt
"""

_VERIFY_DESCRIPTION = """\
Tell whether a model is exactly what was signed: the signature must verify with the given
public key (or chain to a trusted certificate), and every file must match it, with no
file added, removed or renamed. A failure names the files that changed."""

_VERIFY_EPILOG = """\
exit codes:
  0  verified: signed by that key or certificate, and every byte is as signed
  1  not verified: the names of the files that were modified, added, removed or
     renamed; or a signature that was altered, made with another key, or not trusted
  2  usage error: missing PATH or signature file, a --signature that is not a
     signature, unusable key or certificate

examples:
  airlock verify ./some-model/ --key key.pub       # finds ./some-model.sig
  airlock verify ./some-model/ --signature some-model.sig --key key.pub
  airlock verify ./some-model/ --signature some-model.sig --certificate ca.crt
  airlock verify ./model/ --signature model.sig --key key.pub && python serve.py
"""


def register(commands: Any) -> None:
    sign = commands.add_parser(
        "sign",
        help="sign every file of a model (OpenSSF model signing, offline)",
        description=_SIGN_DESCRIPTION,
        epilog=_SIGN_EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    sign.add_argument("path", metavar="PATH", help="a model folder or file")
    sign.add_argument("--key", required=True, metavar="KEY", help="private key (PEM, EC)")
    sign.add_argument(
        "--signature", metavar="FILE", help="where to write it (default: <PATH>.sig beside PATH)"
    )
    sign.add_argument("--certificate", metavar="CERT", help="your signing certificate (PEM)")
    sign.add_argument(
        "--chain",
        action="append",
        default=[],
        metavar="CERT",
        help="certificates between yours and the root (repeatable; with --certificate)",
    )
    sign.set_defaults(run=run_sign)

    verify = commands.add_parser(
        "verify",
        help="tell whether a model is exactly what was signed",
        description=_VERIFY_DESCRIPTION,
        epilog=_VERIFY_EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    verify.add_argument("path", metavar="PATH", help="a model folder or file")
    verify.add_argument(
        "--signature",
        metavar="FILE",
        help="the signature (default: <PATH>.sig beside PATH, as `airlock sign` writes it, "
        "or model.sig inside it)",
    )
    trust = verify.add_mutually_exclusive_group(required=True)
    trust.add_argument("--key", metavar="PUB", help="the signer's public key (PEM)")
    trust.add_argument(
        "--certificate",
        action="append",
        metavar="CERT",
        help="a certificate you trust: the root or the signer's own (repeatable)",
    )
    verify.set_defaults(run=run_verify)


def run_sign(args: argparse.Namespace) -> int:
    from airlock.provenance.errors import ProvenanceError
    from airlock.provenance.signature_file import default_signature_path
    from airlock.provenance.signing import sign

    path = Path(args.path)
    if args.chain and not args.certificate:
        print_error("--chain needs --certificate")
        return USAGE_ERROR
    if not path.exists():
        print_error(f"{args.path}: no such file or directory")
        return USAGE_ERROR
    signature = Path(args.signature) if args.signature else default_signature_path(path)
    certificate = Path(args.certificate) if args.certificate else None
    try:
        signed = sign(path, signature, Path(args.key), certificate, [Path(c) for c in args.chain])
    except ProvenanceError as exc:
        print_error(str(exc))
        return USAGE_ERROR
    done = f"{signed.files} files of {path} -> {signed.signature}"
    _console().print(f"[green]signed[/] {_escape(done)}")
    return 0


def run_verify(args: argparse.Namespace) -> int:
    from airlock.provenance.errors import ProvenanceError
    from airlock.provenance.signing import verify

    path = Path(args.path)
    certificates = [Path(c) for c in args.certificate or ()]
    key = Path(args.key) if args.key else None
    signature = Path(args.signature) if args.signature else _find_signature(path)
    if signature is None:
        return USAGE_ERROR
    try:
        result = verify(path, signature, public_key=key, certificates=certificates)
    except ProvenanceError as exc:
        print_error(str(exc))
        return USAGE_ERROR
    console = _console()
    if result.verified:
        console.print(f"[green]verified[/] {_escape(f'{path}: {result.files} files, as signed')}")
        return 0
    console.print(f"[bold red]NOT verified[/] {_escape(f'{path}: {result.reason}')}")
    for line in result.changes.describe():
        console.print(f"  {_escape(line)}")
    for link in result.links_out:
        console.print(f"  link leaves the folder: {_escape(link)}")
    return NOT_VERIFIED


def _find_signature(path: Path) -> Path | None:
    """The signature where `airlock sign` (or model-signing) leaves it, or None after saying
    where it looked."""
    from airlock.provenance.signature_file import find_signature, signature_candidates

    if not path.exists():
        print_error(f"{path}: no such file or directory")
        return None
    found = find_signature(path)
    if found is None:
        looked = " or ".join(str(candidate) for candidate in signature_candidates(path))
        print_error(f"no signature for {path}: looked for {looked}; give it with --signature FILE")
    return found


def _console() -> Console:
    from rich.console import Console

    # No highlighting (rich colours numbers and paths at random) and no wrapping of long paths.
    return Console(highlight=False, soft_wrap=True, no_color=bool(os.environ.get("NO_COLOR")))


def _escape(text: str) -> str:
    """Paths and file names may hold `[`, which rich would read as markup."""
    from rich.markup import escape as rich_escape

    return rich_escape(text)
