"""One short check for a machine with a GPU and vLLM installed: Airlock starts `vllm serve` on the
verified private copy of an admitted model and relays a chat request to it.

    python benchmarks/gpu_engine_check.py                 # a tiny random llama, made here
    python benchmarks/gpu_engine_check.py --model DIR     # a local model folder (no download)

Steps, each timed: make (or take) the model; `airlock admit`; `airlock models configure` with
engine options; `airlock serve --engine NAME=vllm` on a free loopback port; wait until a chat
request answers; a few more requests (p50). Then it asserts what matters for integrity: the
engine process's command line names the private copy (under this run's scratch folder, mode
0700, files with the admitted hashes), never the admitted source folder, and carries the
recorded options. Everything runs offline in a temporary AIRLOCK_HOME and TMPDIR.

Exit codes: 0 passed; 1 a check failed; 2 this machine cannot run it (no GPU, no vLLM).
"""

from __future__ import annotations

import argparse
import hashlib
import itertools
import json
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
NAME = "gpu-check"
OPTIONS = {"max_model_len": "256", "gpu_memory_utilization": "0.3", "dtype": "float16"}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--model", type=Path, help="a local model folder (default: tiny, made)")
    parser.add_argument("--timeout", type=float, default=900.0, help="engine start limit (s)")
    args = parser.parse_args()
    problem = _cannot_run()
    if problem is not None:
        print(f"gpu_engine_check: cannot run here: {problem}", file=sys.stderr)
        return 2
    work = Path(tempfile.mkdtemp(prefix="airlock-gpu-check-"))
    env = {
        **os.environ,
        "AIRLOCK_HOME": str(work / "home"),
        "TMPDIR": str(work / "tmp"),
        "PYTHONPATH": os.pathsep.join([str(ROOT / "src"), os.environ.get("PYTHONPATH", "")]),
        "HF_HUB_OFFLINE": "1",
        "TRANSFORMERS_OFFLINE": "1",
    }
    env.pop("AIRLOCK_DATABASE_URL", None)
    (work / "tmp").mkdir()
    timings: dict[str, float] = {}
    server: subprocess.Popen[bytes] | None = None
    try:
        started = time.perf_counter()
        model = args.model.resolve() if args.model else _tiny_llama(work / "model")
        timings["make model"] = time.perf_counter() - started

        started = time.perf_counter()
        _airlock(env, "admit", str(model), "--name", NAME, "--force", "--reason", "gpu check")
        configure = ["models", "configure", NAME]
        for key, value in OPTIONS.items():
            configure += ["--engine-option", f"{key}={value}"]
        _airlock(env, *configure)
        key = _airlock(env, "keys", "create", "--name", "gpu-check").splitlines()[0].strip()
        timings["admit + configure"] = time.perf_counter() - started

        port = _free_port()
        started = time.perf_counter()
        server = subprocess.Popen(
            [
                *(sys.executable, "-m", "airlock", "serve", "--port", str(port)),
                *("--engine", f"{NAME}=vllm", "--load-timeout", str(int(args.timeout))),
            ],
            env=env,
            cwd=work,
            start_new_session=True,
        )
        import openai

        api = openai.OpenAI(base_url=f"http://127.0.0.1:{port}/v1", api_key=key, max_retries=0)
        messages = [{"role": "user", "content": "Say hello."}]
        deadline = time.monotonic() + args.timeout
        while True:
            if server.poll() is not None:
                raise CheckFailed(f"airlock serve exited with code {server.returncode}")
            try:
                first = time.perf_counter()
                answer = api.chat.completions.create(
                    model=NAME,
                    messages=messages,
                    max_tokens=16,  # type: ignore[arg-type]
                )
                timings["first request"] = time.perf_counter() - first
                break
            except (openai.APIConnectionError, openai.APIStatusError) as exc:
                if time.monotonic() > deadline:
                    raise CheckFailed(f"no answer within {args.timeout:g} s: {exc}") from None
                time.sleep(2.0)
        timings["serve to first answer"] = time.perf_counter() - started
        print(f"answer: {answer.choices[0].message.content!r}")
        latencies = []
        for _ in range(10):
            begun = time.perf_counter()
            api.chat.completions.create(
                model=NAME,
                messages=messages,
                max_tokens=16,  # type: ignore[arg-type]
            )
            latencies.append(time.perf_counter() - begun)
        timings["chat p50 (10 requests, 16 tokens)"] = sorted(latencies)[len(latencies) // 2]

        card = next(m for m in api.models.list().data if m.id == NAME).model_dump()
        _check(card.get("integrity", "").startswith("enforced"), f"model card: {card}")
        _check_engine_argv(server.pid, model, Path(env["TMPDIR"]))
        print("PASS: vLLM runs on the verified private copy with the recorded options")
        return 0
    except CheckFailed as exc:
        print(f"FAIL: {exc}", file=sys.stderr)
        return 1
    finally:
        for step, seconds in timings.items():
            print(f"  {step:<36}{seconds * 1000:>10.1f} ms")
        if server is not None and server.poll() is None:
            server.terminate()
            try:
                server.wait(60)
            except subprocess.TimeoutExpired:
                os.killpg(server.pid, 9)
        shutil.rmtree(work, ignore_errors=True)


class CheckFailed(Exception):
    pass


def _check(condition: bool, what: str) -> None:
    if not condition:
        raise CheckFailed(what)


def _cannot_run() -> str | None:
    if shutil.which("vllm") is None:
        return "`vllm` is not on PATH (pip install vllm on a machine with a GPU)"
    if shutil.which("nvidia-smi") is None:
        return "no NVIDIA GPU driver (nvidia-smi not found)"
    probe = subprocess.run(["nvidia-smi", "-L"], capture_output=True, text=True, check=False)
    if probe.returncode != 0 or "GPU" not in probe.stdout:
        return f"nvidia-smi lists no GPU ({(probe.stderr or probe.stdout).strip()[:200]})"
    return None


def _airlock(env: dict[str, str], *args: str) -> str:
    done = subprocess.run(
        [sys.executable, "-m", "airlock", *args], env=env, capture_output=True, text=True
    )
    if done.returncode != 0:
        raise CheckFailed(f"airlock {' '.join(args[:2])} failed: {done.stderr.strip()}")
    return done.stdout


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _engine_argv(server_pid: int) -> list[str]:
    """The command line of the `vllm serve` process the gateway started."""
    for status in Path("/proc").glob("[0-9]*/stat"):
        try:
            parent = int(status.read_text().rsplit(") ", 1)[1].split()[1])
            argv = (status.parent / "cmdline").read_bytes().split(b"\0")
        except (OSError, IndexError, ValueError):
            continue
        words = [a.decode() for a in argv if a]
        if parent == server_pid and "serve" in words and any("vllm" in w for w in words[:2]):
            return words
    raise CheckFailed("no `vllm serve` process under the gateway")


def _check_engine_argv(server_pid: int, source: Path, tmp: Path) -> None:
    argv = _engine_argv(server_pid)
    print(f"engine argv: {' '.join(argv)}")
    copy = Path(argv[argv.index("serve") + 1])
    _check(copy != source and source not in copy.parents, f"the engine loads {copy}, the source")
    _check(tmp in copy.parents, f"the engine's model {copy} is not a private copy under {tmp}")
    _check(copy.stat().st_mode & 0o777 == 0o700, f"{copy} is not private (0700)")
    manifest = json.loads(
        subprocess.run(
            [sys.executable, "-m", "airlock", "models", "show", NAME, "--format", "json"],
            env={
                **os.environ,
                "AIRLOCK_HOME": str(tmp.parent / "home"),
                "PYTHONPATH": str(ROOT / "src"),
            },
            capture_output=True,
            text=True,
            check=True,
        ).stdout
    )["files"]
    for entry in manifest:
        digest = hashlib.sha256((copy / entry["path"]).read_bytes()).hexdigest()
        _check(digest == entry["sha256"], f"{entry['path']} in the copy is not the admitted file")
    flags = dict(itertools.pairwise(argv))  # each word and the one after it
    for key, value in OPTIONS.items():
        flag = "--" + key.replace("_", "-")
        _check(flags.get(flag) == value, f"{flag} {value} missing from the engine's command line")
    _check("--trust-remote-code" not in argv, "the engine was told to trust remote code")


def _tiny_llama(folder: Path) -> Path:
    """A random llama small enough to load in seconds, with a tokenizer and a chat template
    (head size 64, which every vLLM attention backend supports)."""
    from tokenizers import Tokenizer, models, pre_tokenizers, trainers
    from transformers import LlamaConfig, LlamaForCausalLM, PreTrainedTokenizerFast

    tok = Tokenizer(models.BPE())
    tok.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    specials = ["<s>", "</s>"]
    trainer = trainers.BpeTrainer(
        vocab_size=512,
        special_tokens=specials,
        initial_alphabet=pre_tokenizers.ByteLevel.alphabet(),
    )
    tok.train_from_iterator(["Say hello to the admitted bytes."] * 50, trainer)
    tokenizer = PreTrainedTokenizerFast(tokenizer_object=tok, bos_token="<s>", eos_token="</s>")
    tokenizer.chat_template = (
        "{% for m in messages %}{{ m['role'] }}: {{ m['content'] }}\n{% endfor %}assistant:"
    )
    tokenizer.save_pretrained(folder)
    config = LlamaConfig(
        vocab_size=tok.get_vocab_size(),
        hidden_size=256,
        intermediate_size=512,
        num_hidden_layers=2,
        num_attention_heads=4,
        num_key_value_heads=4,
        max_position_embeddings=512,
        bos_token_id=0,
        eos_token_id=1,
        torch_dtype="float16",
    )
    LlamaForCausalLM(config).half().save_pretrained(folder, safe_serialization=True)
    return folder


if __name__ == "__main__":
    sys.exit(main())
