"""Constrained decoding with llguidance (the grammar engine vLLM and SGLang also use): JSON
output against a schema, and tool calls whose arguments match each function's schema.

Why llguidance (docs/structured-output.md has the numbers): masks in 7-60 µs per token on a
50k vocabulary, one wheel without dependencies, and Lark grammars that embed JSON schemas
(`%json`), which say "text, or tool calls" in four lines.

The mask is computed in the generation's helper thread (hf_causal), never on the event loop.
A grammar cannot by itself finish inside max_tokens (a sampled string may run on), so when the
remaining budget only just fits the shortest way out, the processor steers there: it
simulates, on a copy of the matcher, always taking the first allowed token from `_CLOSERS`
(`"` ends a string, `}` and `]` close, `,` ends a number, `0` is the shortest number), and
forces that path once the budget left is no more than its length plus the EOS.
"""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Any

import llguidance
import llguidance.hf
import numpy as np
import torch
from transformers import LogitsProcessor

from airlock.gateway.engines.interface import EngineError, JsonOutput, ToolUse
from airlock.gateway.engines.tool_calls import CLOSE, OPEN, SEPARATOR, call_schema

if TYPE_CHECKING:
    from llguidance._lib import JsonCompileOptions

# Compact JSON: the shortest texts, and no runs of whitespace a random model could loop in.
_COMPACT: JsonCompileOptions = {"whitespace_flexible": False}
# Single characters, best first, for the way out of any JSON or tool-call state (`,` before
# `0`: a number ends rather than grows); then every other printable ASCII character and the
# newline (key names and literals the grammar forces).
_BEST = '"}],0'
_CLOSERS = _BEST + "".join(chr(c) for c in range(32, 127) if chr(c) not in _BEST) + "\n"
_CHECK_WITHIN = 96
_SLACK = 4  # the way out is simulated only when the budget left is this small


def tokenizer_for(tokenizer: Any, vocab_size: int, eos_ids: list[int]) -> Any:
    """llguidance's view of a fast Hugging Face tokenizer (about a second for 50k tokens: the
    engine keeps it)."""
    try:
        return llguidance.hf.from_tokenizer(tokenizer, n_vocab=vocab_size, eos_token=eos_ids)
    except ValueError as exc:
        raise EngineError(f"this model's tokenizer cannot be constrained: {exc}") from exc


def grammar_for(constraint: JsonOutput | ToolUse) -> str:
    """The llguidance grammar of a constraint (400 for a schema it cannot follow)."""
    if isinstance(constraint, JsonOutput):
        grammar = llguidance.LLMatcher.grammar_from_json_schema(
            constraint.schema, defaults=_COMPACT
        )
        param = "response_format"
    else:
        grammar = llguidance.LLMatcher.grammar_from_lark(_tools_lark(constraint))
        param = "tools"
    message = llguidance.LLMatcher.validate_grammar(grammar)
    if message:
        raise EngineError(f"the JSON schema cannot be enforced: {message}", param=param)
    return grammar


def _tools_lark(use: ToolUse) -> str:
    functions = [f for f in use.functions if use.choice in ("auto", "required", f["name"])]
    bodies = [
        f"f{i}: %json {json.dumps({**call_schema(f), 'x-guidance': _COMPACT})}"
        for i, f in enumerate(functions)
    ]
    calls = "call (SEP call)*" if use.parallel else "call"
    # "auto": free text that does not start a call, or calls; the model's first token decides.
    start = "start: TEXT | calls" if use.choice == "auto" else "start: calls"
    return "\n".join(
        [
            start,
            r"TEXT: /[^<][\s\S]*/",
            f"calls: {calls}",
            f"SEP: {json.dumps(SEPARATOR)}",
            f"call: {json.dumps(OPEN)} body {json.dumps(CLOSE)}",
            "body: " + " | ".join(f"f{i}" for i in range(len(functions))),
            *bodies,
        ]
    )


class GrammarProcessor(LogitsProcessor):
    """Masks every token the grammar does not allow next, one matcher per sequence."""

    def __init__(
        self,
        tokenizer: Any,
        grammar: str,
        max_new_tokens: int,
        closers: list[int],
        *,
        calls: bool = False,
    ) -> None:
        """`calls`: the grammar is for tool calls; once the calls written are complete and the
        budget is low, no further call is started (it could not finish)."""
        self._tokenizer, self._grammar = tokenizer, grammar
        self._max_new, self._closers, self._calls = max_new_tokens, closers, calls
        self._prompt_len: int | None = None
        self._matchers: list[Any] = []
        self._first: list[str | None] = []  # per sequence: the text of its first token
        self._next_check: list[int] = []  # per sequence: the budget left at the next look
        # Per sequence: the way out, once it is taken; None once it is all written (then EOS).
        self._forced: list[list[int] | None] = []

    def _matcher(self) -> Any:
        matcher = llguidance.LLMatcher(self._tokenizer, self._grammar, log_level=0)
        if matcher.is_error():
            raise EngineError(f"the grammar cannot be enforced: {matcher.get_error()}")
        return matcher

    def __call__(self, input_ids: torch.LongTensor, scores: torch.FloatTensor) -> torch.FloatTensor:
        rows = int(input_ids.shape[0])
        if self._prompt_len is None:
            self._prompt_len = int(input_ids.shape[1])
            self._matchers = [self._matcher() for _ in range(rows)]
            self._forced = [[] for _ in range(rows)]
            self._next_check = [_CHECK_WITHIN] * rows
            self._first = [None] * rows
        else:
            for row, matcher in enumerate(self._matchers):
                token = int(input_ids[row, -1])
                if self._first[row] is None:
                    self._first[row] = self._tokenizer.decode_str([token])
                if not matcher.is_stopped():
                    matcher.consume_token(token)
        remaining = self._max_new - (int(input_ids.shape[1]) - self._prompt_len)
        for row, matcher in enumerate(self._matchers):
            allowed = self._allowed(row, matcher, remaining, int(scores.shape[1]))
            scores[row, ~allowed] = float("-inf")
            if torch.isinf(scores[row]).all():  # top_p before us cut every allowed token
                scores[row, allowed] = 0.0
        return scores

    def _allowed(self, row: int, matcher: Any, remaining: int, vocab: int) -> torch.Tensor:
        if matcher.is_error() or matcher.is_stopped():
            return self._only(self._tokenizer.eos_token, vocab)
        forced = self._forced[row]
        if forced is None:  # the way out was taken and is complete: end there
            return self._only(self._tokenizer.eos_token, vocab)
        if self._calls and remaining <= _CHECK_WITHIN and self._ends_calls(row, matcher):
            return self._only(self._tokenizer.eos_token, vocab)
        if not forced and remaining <= min(_CHECK_WITHIN, self._next_check[row]):
            way_out = self._way_out(matcher, remaining)
            # +1 for the EOS; +_SLACK as one sampled token may lengthen the way out (the
            # first bytes of a character need the rest before a `"` may follow).
            # An output already complete (free text in "auto") may run on to max_tokens.
            need = len(way_out or []) + 1 + _SLACK
            if way_out and need >= remaining:
                forced.extend(way_out)
            # The way out grows by a few tokens per step at most: look again when half the
            # room it leaves is used (every step once that room is small).
            self._next_check[row] = need + (remaining - need) // 2
        if forced:
            token = forced.pop(0)
            if not forced:
                self._forced[row] = None
            return self._only(token, vocab)
        return self._mask(matcher, vocab)

    def _ends_calls(self, row: int, matcher: Any) -> bool:
        """Complete calls written (free text, also accepted, may run on)."""
        first = self._first[row]
        return bool(matcher.is_accepting() and first is not None and first.startswith(OPEN[0]))

    def _way_out(self, matcher: Any, remaining: int) -> list[int] | None:
        """The tokens of the shortest-looking way to a complete output, or None when there is
        none within the budget."""
        probe = matcher.deep_copy()
        path: list[int] = []
        while not probe.is_accepting():
            if len(path) >= remaining:
                return None
            forced = probe.compute_ff_tokens()  # a key name or literal the grammar forces
            if forced:
                probe.consume_tokens(forced)
                path.extend(forced)
                continue
            # Trying a token is cheaper than a whole-vocabulary mask.
            token = next((t for t in self._closers if probe.validate_tokens([t]) == 1), None)
            if token is None:  # only longer tokens fit (a literal spelled "lo", not "l")
                bits = np.frombuffer(probe.compute_bitmask(), dtype=np.uint8)
                found = np.flatnonzero(np.unpackbits(bits, bitorder="little"))
                if len(found) == 0:
                    return None
                token = int(found[0])
            probe.consume_token(token)
            path.append(token)
        return path if len(path) <= remaining else None

    def _mask(self, matcher: Any, vocab: int) -> torch.Tensor:
        bits = np.frombuffer(matcher.compute_bitmask(), dtype=np.uint8)
        allowed = np.unpackbits(bits, bitorder="little")[:vocab].astype(bool)
        if len(allowed) < vocab:
            allowed = np.concatenate([allowed, np.zeros(vocab - len(allowed), dtype=bool)])
        return torch.from_numpy(allowed)

    @staticmethod
    def _only(token: int, vocab: int) -> torch.Tensor:
        allowed = torch.zeros(vocab, dtype=torch.bool)
        allowed[token] = True
        return allowed


def closer_tokens(tokenizer: Any) -> list[int]:
    """The token of each character of `_CLOSERS` that is one token on its own, in order."""
    found: list[int] = []
    for char in _CLOSERS:
        ids = tokenizer.encode(char, add_special_tokens=False)
        if len(ids) == 1 and ids[0] not in found:
            found.append(int(ids[0]))
    return found
