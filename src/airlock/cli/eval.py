"""`airlock eval`: candidate models side by side on the organization's own labeled data."""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Any

from airlock.cli.errors import USAGE_ERROR, print_error
from airlock.cli.options import duration, int_range, text_style, write_report

if TYPE_CHECKING:
    from airlock.eval.judge import Judge
    from airlock.eval.result import EvalResult
    from airlock.eval.run import Plan

INTERRUPTED = 130
FORMATS = ("text", "json", "markdown", "html")
MAX_BATCH = 4096
MAX_TOKENS = 1_000_000
MAX_TIMEOUT_S = 24 * 3600.0

_DESCRIPTION = """\
Evaluate candidate models on your own labeled data, side by side: admitted models (run by the
gateway's engines on their hash-verified bytes) and OpenAI-compatible endpoints, on the same
items. The task follows from the data's shape: retrieval, rerank, generation or transcription."""

_EPILOG = """\
data (docs/eval.md has each format with an example):
  retrieval      a BEIR folder (corpus.jsonl, queries.jsonl, qrels/SPLIT.tsv), or JSON Lines
                 of {"query", "positives": [...], "negatives": [...]}
  rerank         JSON Lines of {"query", "documents": [...], "labels": [grade, ...]}
  generation     JSON Lines of {"messages": [...] | "prompt", "reference" | "choices" +
                 "answer" | "schema" | "pattern"}
  transcription  a JSON Lines manifest of {"audio": "clip.wav", "text": "..."} beside the audio

metrics (default: all that apply):
  retrieval, rerank  ndcg@K, mrr@K, recall@K, map@K (default ndcg@10 mrr@10 recall@10
                     recall@100 map@100; rerank: ndcg@10 mrr@10 map@100)
  generation         exact_match exact_match_normalized token_f1 contains accuracy regex
                     json_valid schema_valid judge
  transcription      wer cer (lower is better)

endpoints:
  --endpoint NAME=URL[#MODEL] asks URL (an OpenAI-compatible /v1 base) for MODEL (default:
  NAME). Its API key, if it needs one, comes from AIRLOCK_EVAL_KEY_<NAME> (NAME in capitals,
  other characters as _): --endpoint gpt-4o-mini=... reads AIRLOCK_EVAL_KEY_GPT_4O_MINI.

exit codes:
  0    every item was evaluated
  2    usage error, malformed data (file:line), or a candidate that cannot run
  130  interrupted (Ctrl-C): the report covers the items every candidate finished

examples:
  airlock eval faq.jsonl --model minilm --model bge-small
  airlock eval beir/scifact --model minilm@2 --model minilm@3 --format html -o scifact.html
  airlock eval qa.jsonl --model llama-8b --endpoint prod=https://api.openai.com/v1#gpt-4o-mini
  airlock eval qa.jsonl --model llama-8b --judge prod=https://api.openai.com/v1#gpt-4o
  airlock eval calls/manifest.jsonl --model whisper-small --metric wer --format json
"""


def _typed(parse: Any) -> Any:
    """A parser from airlock.eval as an argparse type (its ValueError as the usage error)."""

    def convert(text: str) -> Any:
        try:
            return parse(text)
        except ValueError as exc:
            raise argparse.ArgumentTypeError(str(exc)) from None

    return convert


def register(commands: Any) -> None:
    from airlock.eval.candidates.specs import parse_endpoint, parse_model

    parser = commands.add_parser(
        "eval",
        help="compare models on your own labeled data (retrieval, rerank, generation, speech)",
        description=_DESCRIPTION,
        epilog=_EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("data", metavar="DATA", help="a JSON Lines file or a BEIR folder")
    parser.add_argument(
        "-m",
        "--model",
        action="append",
        default=[],
        type=_typed(parse_model),
        metavar="NAME[@VERSION]",
        help="an admitted model (default: its newest version); repeat for more",
    )
    parser.add_argument(
        "-e",
        "--endpoint",
        action="append",
        default=[],
        type=_typed(parse_endpoint),
        metavar="NAME=URL[#MODEL]",
        help="an OpenAI-compatible endpoint; repeat for more",
    )
    parser.add_argument(
        "--metric",
        action="append",
        default=[],
        metavar="NAME",
        help="report this metric (repeat; default: every one that applies)",
    )
    parser.add_argument(
        "--name", metavar="NAME", help="the data set's name in reports (default: the file's)"
    )
    parser.add_argument("--split", metavar="SPLIT", help="BEIR qrels split (default: test)")
    parser.add_argument(
        "--judge",
        type=_typed(_judge_spec),
        metavar="NAME[@VERSION] | NAME=URL[#MODEL]",
        help="a model that rates each generated answer 1-5 with a rubric (metric: judge)",
    )
    parser.add_argument(
        "--rubric",
        metavar="FILE",
        help="the judge's rubric (default: correctness and completeness)",
    )
    parser.add_argument(
        "--batch-size",
        type=int_range(1, MAX_BATCH),
        default=64,
        metavar="N",
        help="texts per embedding request, 1 to 4,096 (default 64)",
    )
    parser.add_argument(
        "--max-tokens",
        type=int_range(1, MAX_TOKENS),
        default=256,
        metavar="N",
        help="longest generated answer, in tokens (default 256)",
    )
    parser.add_argument(
        "--timeout",
        type=duration(MAX_TIMEOUT_S),
        default=120.0,
        metavar="SECONDS",
        help="per request to an endpoint: seconds, or with s, m or h (default 120)",
    )
    parser.add_argument(
        "--torch-threads",
        type=int_range(1, 1024),
        default=None,
        metavar="N",
        help="threads for admitted models (default: torch's, one per core)",
    )
    parser.add_argument(
        "--stock-kernels",
        action="store_true",
        help="run admitted models with PyTorch's stock matrix multiplies (see airlock serve)",
    )
    parser.add_argument(
        "-f", "--format", choices=FORMATS, default="text", help="report format (default: text)"
    )
    parser.add_argument("-o", "--output", metavar="FILE", help="write the report to FILE")
    parser.add_argument(
        "--no-progress", action="store_true", help="no progress bar (it only shows on a terminal)"
    )
    parser.set_defaults(run=run)


def _judge_spec(text: str) -> Any:
    from airlock.eval.candidates.specs import parse_endpoint, parse_model

    return parse_endpoint(text) if "=" in text else parse_model(text)


def run(args: argparse.Namespace) -> int:
    from airlock.eval.errors import EvalError

    show_progress = not args.no_progress and sys.stderr.isatty()
    try:
        if show_progress:
            from airlock.cli.progress import EvalProgress  # rich loads only for a terminal

            with EvalProgress() as progress:
                result = _evaluate(args, progress)
        else:
            result = _evaluate(args, None)
    except EvalError as exc:
        print_error(str(exc))
        return USAGE_ERROR
    if not write_report(render(result, args.format, args.output), args.output):
        return USAGE_ERROR
    if not result.complete:
        print_error(
            f"interrupted: the report covers {result.evaluated:,} of {result.dataset.items:,} "
            "items, those every candidate finished; nothing was recorded"
        )
        return INTERRUPTED
    return _record(result, args)


def _record(result: EvalResult, args: argparse.Namespace) -> int:
    """Record a finished run's admitted candidates in the registry (their versions' results,
    which `airlock models show`, `vet` and the policy's `quality` read)."""
    if all(c.model is None for c in result.candidates):
        return 0  # endpoints only: no admitted version to record results for
    from airlock.cli.registry_access import open_registry
    from airlock.registry.evals import EvalRecordError, record

    registry = open_registry()
    if registry is None:
        return USAGE_ERROR
    try:
        recorded = record(registry, result.to_dict(), actor=getattr(args, "actor", None))
    except EvalRecordError as exc:
        print_error(f"the results were not recorded: {exc}")
        return USAGE_ERROR
    finally:
        registry.close()
    for line in recorded.skipped:
        print(f"airlock: not recorded: {line}", file=sys.stderr)
    models = sorted({r.model for r in recorded.results})
    if models:
        print(
            f"airlock: recorded {len(recorded.results)} results for {', '.join(models)}",
            file=sys.stderr,
        )
    return 0


def _evaluate(args: argparse.Namespace, progress: Any) -> EvalResult:
    from airlock.eval.run import evaluate

    return evaluate(_plan(args, progress))


def _plan(args: argparse.Namespace, progress: Any) -> Plan:
    from airlock.eval.candidates.choose import (
        admitted_candidates,
        check_names,
        endpoint_candidates,
    )
    from airlock.eval.candidates.specs import ModelSpec
    from airlock.eval.errors import EvalError
    from airlock.eval.run import Plan
    from airlock.eval.runners.board import NoProgress

    if args.rubric is not None and args.judge is None:
        raise EvalError("--rubric goes with --judge")
    if args.model or isinstance(args.judge, ModelSpec):
        _prepare_torch(args.torch_threads)
    prepack = not args.stock_kernels
    candidates = [
        *admitted_candidates(args.model, prepack=prepack),
        *endpoint_candidates(args.endpoint, timeout_s=args.timeout),
    ]
    check_names(candidates)
    return Plan(
        data=Path(args.data),
        candidates=candidates,
        metrics=args.metric,
        name=args.name,
        split=args.split,
        judge=None if args.judge is None else _judge(args, prepack),
        batch_size=args.batch_size,
        max_tokens=args.max_tokens,
        progress=progress or NoProgress(),
    )


def _judge(args: argparse.Namespace, prepack: bool) -> Judge:
    from airlock.eval.candidates.choose import admitted_candidates, endpoint_candidates
    from airlock.eval.candidates.specs import EndpointSpec
    from airlock.eval.errors import EvalError
    from airlock.eval.judge import Judge, default_prompt

    spec = args.judge
    if isinstance(spec, EndpointSpec):
        (candidate,) = endpoint_candidates([spec], timeout_s=args.timeout)
    else:
        (candidate,) = admitted_candidates([spec], prepack=prepack)
    template, rubric = default_prompt()
    if args.rubric is not None:
        try:
            rubric = Path(args.rubric).read_text(encoding="utf-8").strip()
        except (OSError, UnicodeDecodeError) as exc:
            raise EvalError(f"cannot read the rubric {args.rubric}: {exc}") from None
        if not rubric:
            raise EvalError(f"the rubric {args.rubric} is empty")
    return Judge(candidate, template, rubric)


def _prepare_torch(threads: int | None) -> None:
    """Admitted models load from their verified copy only: nothing is fetched at run time, and
    the libraries draw no bars of their own over ours."""
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
    from airlock.gateway.quiet import disable_progress_bars

    disable_progress_bars()
    if threads is not None:
        import torch

        torch.set_num_threads(threads)


def render(result: EvalResult, fmt: str, output: str | None = None) -> str:
    if fmt == "json":
        import json

        return json.dumps(result.to_dict(), indent=2) + "\n"
    if fmt == "markdown":
        from airlock.report.eval.markdown import render_eval_markdown

        return render_eval_markdown(result)
    if fmt == "html":
        from airlock.report.eval.html import render_eval_html

        return render_eval_html(result)
    from airlock.report.eval.text import render_eval_text

    color, width = text_style(output)
    return render_eval_text(result, color=color, width=width)
