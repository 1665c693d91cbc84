"""Every numeric option of every command is range-checked by its parser: a bad value is
argparse's one-line usage error (exit 2) naming the option and the range, before anything runs."""

from __future__ import annotations

import argparse
from collections.abc import Iterator
from pathlib import Path

import pytest

from airlock.cli import build_parser, main
from airlock.cli.options import duration, float_range, int_range

# (command and its required arguments, option, an in-range value, the range's words,
# out-of-range values)
NUMERIC_OPTIONS: list[tuple[tuple[str, ...], str, str, str, tuple[str, ...]]] = [
    (("serve",), "--port", "8000", "from 1 to 65,535", ("0", "99999", "-1")),
    (("serve",), "--engine-replicas", "2", "from 1 to 64", ("0", "65")),
    (("serve",), "--memory-budget", "8", "above 0 and at most 1,048,576", ("0", "-1", "inf")),
    (("serve",), "--torch-threads", "1", "from 1 to 1,024", ("0", "5000")),
    (("serve",), "--model-workers", "2", "from 1 to 1,024", ("0", "5000")),
    (("serve",), "--queue-size", "64", "from 1 to 1,000,000", ("0", "10000000")),
    (("serve",), "--timeout", "120", "at most 86,400 seconds", ("0", "-5", "2d", "1e9")),
    (("serve",), "--audio-budget", "256", "above 0 and at most 1,073,741,824", ("0", "inf")),
    (("serve",), "--header-timeout", "10", "at most 86,400 seconds", ("0", "-5", "2d")),
    (("serve",), "--body-timeout", "60", "at most 86,400 seconds", ("0", "-5", "2d")),
    (("serve",), "--max-connections", "1000", "from 1 to 1,000,000", ("0", "10000000")),
    (
        ("serve",),
        "--max-connections-per-client",
        "100",
        "from 1 to 1,000,000",
        ("0", "10000000"),
    ),
    (("serve",), "--load-timeout", "600", "at most 86,400 seconds", ("0", "-5", "2d", "1e9")),
    (("serve",), "--revet-every", "86400", "at most 31,622,400 seconds", ("0", "-5", "367d", "1y")),
    (("scan", "x"), "--jobs", "2", "from 1 to 256", ("0", "100000")),
    (("hash", "x"), "--jobs", "2", "from 1 to 256", ("0", "100000")),
    (("fit", "x"), "--devices", "4", "from 1 to 100,000", ("0", "1000000")),
    (("fit", "x"), "--context", "8192", "from 1 to 100,000,000", ("0", "1000000000")),
    (("fit", "x"), "--batch", "8", "from 1 to 100,000", ("0", "1000000")),
    (("fit", "x"), "--resolution", "768", "from 8 to", ("7", "1000000")),
    (("pull", "org/m"), "--jobs", "4", "from 1 to 64", ("0", "65")),
    (("fit", "x"), "--ram", "64", "above 0 and at most 1,048,576", ("0", "-1", "inf", "2e6")),
    (("fit", "x"), "--memory-bandwidth", "204.8", "above 0 and at most 100,000", ("0", "1e6")),
    (("fit", "x"), "--cpu-gflops", "2000", "above 0 and at most 10,000,000", ("0", "nan")),
    (("keys", "create", "--name", "a"), "--rpm", "60", "from 1 to 1,000,000", ("0", "10**9")),
    (
        ("keys", "create", "--name", "a"),
        "--tpm",
        "20000",
        "from 1 to 1,000,000,000",
        ("0", "10000000000"),
    ),
    (("models", "show", "a"), "--version", "1", "from 1 to 2,147,483,647", ("0", "2147483648")),
    (("data", "check", "x"), "--max-tokens", "512", "from 1 to 100,000,000", ("0", "1e9")),
    (
        ("data", "check", "x"),
        "--near-threshold",
        "0.8",
        "above 0.5 and at most 1",
        ("0.5", "1.1", "nan"),
    ),
    (("data", "check", "x"), "--max-pairs", "20", "from 1 to 100,000", ("0", "100001")),
    (("eval", "d.jsonl"), "--batch-size", "64", "from 1 to 4,096", ("0", "5000")),
    (("eval", "d.jsonl"), "--max-tokens", "256", "from 1 to 1,000,000", ("0", "2000000")),
    (("eval", "d.jsonl"), "--timeout", "120", "at most 86,400 seconds", ("0", "-5", "2d")),
    (("eval", "d.jsonl"), "--torch-threads", "2", "from 1 to 1,024", ("0", "5000")),
    (
        ("models", "remove", "a", "--reason", "r"),
        "--version",
        "1",
        "from 1 to 2,147,483,647",
        ("0", "-2"),
    ),
]
NOT_NUMBERS = ("abc", "", "1.5.2", "nan", "ten")


def _cases() -> Iterator[tuple[tuple[str, ...], str, str, str]]:
    for command, option, _, words, bad in NUMERIC_OPTIONS:
        for value in (*bad, *NOT_NUMBERS):
            yield command, option, value, words


@pytest.mark.parametrize(("command", "option", "value", "words"), list(_cases()))
def test_out_of_range_or_not_a_number_is_a_usage_error(
    command: tuple[str, ...],
    option: str,
    value: str,
    words: str,
    capsys: pytest.CaptureFixture[str],
) -> None:
    assert main([*command, f"{option}={value}"]) == 2
    captured = capsys.readouterr()
    assert captured.out == ""  # nothing ran: no "serving", no report
    (line,) = captured.err.splitlines()
    assert line.startswith("airlock: error: argument ")
    assert option in line and words in line and repr(value) in line
    assert "Traceback" not in captured.err


@pytest.mark.parametrize(
    ("command", "option", "good"), [(c, o, g) for c, o, g, _, _ in NUMERIC_OPTIONS]
)
def test_in_range_values_parse(command: tuple[str, ...], option: str, good: str) -> None:
    args = build_parser([*command]).parse_args([*command, option, good])
    assert getattr(args, option.lstrip("-").replace("-", "_")) == float(good)


def _numeric_options(parser: argparse.ArgumentParser, words: tuple[str, ...]) -> Iterator[str]:
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            for name, sub in action.choices.items():
                yield from _numeric_options(sub, (*words, name))
        elif action.type is not None and action.option_strings:
            yield f"{' '.join(words)} {action.option_strings[-1]}"


# Typed options that take no number, each tested below (eval's in tests/eval/test_eval_cli.py).
# serve --config: tests/replicas/test_serve_config.py.
OTHER_TYPED = {"audit --since", "eval --model", "eval --endpoint", "eval --judge", "serve --config"}


def test_every_typed_option_is_tested_here() -> None:
    """A new numeric option must join NUMERIC_OPTIONS (and so get a range-checking type)."""
    commands = {"serve", "scan", "hash", "fit", "keys", "create", "models", "show", "remove"}
    commands |= {"data", "check", "eval", "pull"}
    tested = {
        " ".join([*(word for word in command if word in commands), option])
        for command, option, *_ in NUMERIC_OPTIONS
    }
    assert set(_numeric_options(build_parser(["--help"]), ())) == tested | OTHER_TYPED


@pytest.mark.parametrize("value", ["soon", "", "7y", "99999999d", "2026-13-01"])
def test_audit_since_takes_a_date_or_an_age(value: str, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["audit", f"--since={value}"]) == 2
    (line,) = capsys.readouterr().err.splitlines()
    assert line.startswith("airlock: error: argument --since: ") and repr(value) in line


@pytest.mark.parametrize("kind", [int, float])
def test_no_bare_int_or_float_types(kind: type) -> None:
    """int and float accept 99999 ports, negative counts, nan and infinity."""

    def walk(parser: argparse.ArgumentParser) -> Iterator[argparse.Action]:
        for action in parser._actions:
            if isinstance(action, argparse._SubParsersAction):
                for sub in action.choices.values():
                    yield from walk(sub)
            else:
                yield action

    assert [a.dest for a in walk(build_parser(["--help"])) if a.type is kind] == []


def test_durations_take_units() -> None:
    parse = duration(7200)
    assert (parse("90"), parse("90s"), parse("2m"), parse("1.5h"), parse(" 30S ")) == (
        90,
        90,
        120,
        5400,
        30,
    )
    assert duration(7 * 86400)("7d") == 7 * 86400
    for bad in ("3h", "0", "m", "-1m", "inf", "1e400", "2d", "1y"):
        with pytest.raises(argparse.ArgumentTypeError, match="at most 7,200 seconds"):
            parse(bad)


def test_ranges_include_their_bounds() -> None:
    assert int_range(1, 3)("1") == 1 and int_range(1, 3)("3") == 3
    assert float_range(0, 2)("2") == 2.0
    with pytest.raises(argparse.ArgumentTypeError, match="above 0 and at most 2"):
        float_range(0, 2)("0")


def test_port_out_of_range_never_prints_serving(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """The case in the issue: a traceback after "serving"."""
    monkeypatch.setenv("AIRLOCK_HOME", str(tmp_path))
    assert main(["serve", "--port", "99999"]) == 2
    captured = capsys.readouterr()
    assert "serving" not in captured.out
    assert captured.err == (
        "airlock: error: argument --port: expected a whole number from 1 to 65,535, "
        "got '99999' (see `airlock serve --help`)\n"
    )


@pytest.mark.parametrize(
    ("spec", "words"),
    [
        ("a=http://", "the URL has no host"),
        ("a=http://gpu-node:99999/v1", "not a URL (Port out of range 0-65535)"),
        ("a=ftp://gpu-node/v1", "the URL must start with http:// or https://"),
        ("=http://gpu-node/v1", "no NAME= before the URL"),
        ("no-url-here", "no NAME= before the URL"),
        ("a=http://[::1/v1", "not a URL (Invalid IPv6 URL)"),
    ],
)
def test_bad_upstreams_are_one_line(
    spec: str, words: str, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    import uvicorn

    monkeypatch.setattr(uvicorn, "run", lambda *a, **k: pytest.fail("must not start"))
    assert main(["serve", "--upstream", spec]) == 2
    captured = capsys.readouterr()
    assert captured.out == ""
    assert captured.err == (
        f"airlock: error: --upstream {spec!r}: {words}; expected NAME=http(s)://host:port/v1\n"
    )


def test_fit_empty_gpu_is_not_every_accelerator(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["fit", "config.json", "--gpu", " "]) == 2
    assert capsys.readouterr().err == (
        "airlock: error: --gpu needs an accelerator name (e.g. h100, l4, m3-max)\n"
    )
