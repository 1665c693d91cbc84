"""Causal language models with transformers: the tokenizer's chat template, token streaming.

generate() tokenizes in the model's worker thread; iterating the pieces runs the model in a
helper thread that feeds a TextIteratorStreamer. A StoppingCriteria watching the request's
`cancel` token ends generation at the next decoding step when the client goes away, a stop
sequence is seen, or the request times out; the token is also checked around tokenizing.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import jinja2
import torch
from jinja2 import meta
from transformers import (
    AutoModelForCausalLM,
    AutoTokenizer,
    LogitsProcessorList,
    StoppingCriteriaList,
    TextIteratorStreamer,
)

from airlock.gateway.engines.cpu_kernels import prepack_linears
from airlock.gateway.engines.grammar import (
    GrammarProcessor,
    closer_tokens,
    grammar_for,
    tokenizer_for,
)
from airlock.gateway.engines.interface import (
    Capability,
    Engine,
    EngineError,
    Generation,
    GenerationStream,
    TokenLogprob,
    ToolUse,
    context_exceeded,
    sane_limit,
)
from airlock.gateway.engines.stop_on_cancel import StopOnCancel
from airlock.gateway.engines.token_budget import head_tokens


class _CountingStreamer(TextIteratorStreamer):
    """Counts generated tokens as they come, so that a stream cut short reports what it used."""

    def __init__(self, tokenizer: Any, stream: GenerationStream) -> None:
        super().__init__(tokenizer, skip_prompt=True, skip_special_tokens=True, timeout=None)
        self._stream = stream

    def put(self, value: torch.Tensor) -> None:
        if not self.next_tokens_are_prompt:  # the first call hands over the prompt
            self._stream.completion_tokens += int(value.numel())
        super().put(value)  # type: ignore[no-untyped-call]


def template_reads_tools(tokenizer: Any) -> bool:
    """Whether the chat template names the `tools` variable (read from its syntax tree, never
    rendered)."""
    template = getattr(tokenizer, "chat_template", None)
    if not isinstance(template, str):
        return False
    try:
        names = meta.find_undeclared_variables(jinja2.Environment().parse(template))
    except jinja2.TemplateSyntaxError:
        return False
    return "tools" in names


class CausalLM(Engine):
    capabilities = frozenset({Capability.CHAT, Capability.COMPLETIONS})

    def __init__(self, folder: Path, *, prepack: bool = True) -> None:
        # transformers' types are too loose for strict mypy: treat both as Any.
        self._tokenizer: Any = AutoTokenizer.from_pretrained(
            str(folder), trust_remote_code=False, local_files_only=True
        )
        self._model: Any = AutoModelForCausalLM.from_pretrained(
            str(folder), trust_remote_code=False, local_files_only=True
        )
        self._grammar_tokenizer: Any = None  # for constrained decoding, made on first use
        self._closers: list[int] = []
        if prepack:
            prepack_linears(self._model, self._probe)

    def _probe(self) -> torch.Tensor:
        ids = self._tokenizer("a probe prompt", return_tensors="pt")["input_ids"]
        logits: torch.Tensor = self._model(input_ids=ids).logits
        return logits

    def count_tokens(self, text: str) -> int:
        return len(self._tokenizer(text)["input_ids"])

    def context_tokens(self) -> int | None:
        """Prompt and completion tokens the model can attend to: its position embeddings, or
        the tokenizer's limit when the config has none."""
        return sane_limit(
            getattr(self._model.config, "max_position_embeddings", None),
            getattr(self._tokenizer, "model_max_length", None),
        )

    def _max_new_tokens(self, request: Generation, prompt_tokens: int) -> int:
        """The completion budget within the context; a request that does not fit is refused
        here, after tokenizing and before any forward pass."""
        limit = self.context_tokens()
        if limit is None:
            return request.max_tokens
        where = "messages" if request.messages is not None else "prompt"
        if request.default_max_tokens:
            if prompt_tokens < limit:
                return min(request.max_tokens, limit - prompt_tokens)
            found = (
                f"your request has {prompt_tokens + 1:,} tokens ({prompt_tokens:,} in the "
                f"{where}, at least 1 needed for the completion)"
            )
            raise context_exceeded(limit, found, param=where)
        total = prompt_tokens + request.max_tokens
        if total > limit:
            found = (
                f"your request has {total:,} tokens ({prompt_tokens:,} in the {where}, "
                f"{request.max_tokens:,} requested for completion)"
            )
            raise context_exceeded(limit, found, param=where)
        return request.max_tokens

    def generate(self, request: Generation) -> GenerationStream:
        request.cancel.check()
        self._refuse_tools(request)
        self._refuse_huge(request)
        input_ids = self._encode(request)
        request.cancel.check()  # tokenizing a long prompt is the one step that cannot stop
        max_new_tokens = self._max_new_tokens(request, int(input_ids.shape[1]))
        stream = GenerationStream(iter(()), prompt_tokens=int(input_ids.shape[1]))
        streamer = _CountingStreamer(self._tokenizer, stream)
        kwargs: dict[str, Any] = {
            "input_ids": input_ids,
            "attention_mask": torch.ones_like(input_ids),
            "max_new_tokens": max_new_tokens,
            "streamer": streamer,
            "stopping_criteria": StoppingCriteriaList([StopOnCancel(request.cancel)]),
            "pad_token_id": self._tokenizer.pad_token_id or self._tokenizer.eos_token_id,
        }
        if request.temperature > 0:
            kwargs.update(do_sample=True, temperature=request.temperature, top_p=request.top_p)
        else:
            kwargs.update(do_sample=False)
        if request.logprobs is not None:  # the raw logits of each step, kept for logprobs
            kwargs.update(output_logits=True, return_dict_in_generate=True)
        if request.constraint is not None:
            processor = self._grammar_processor(request, max_new_tokens)
            kwargs["logits_processor"] = LogitsProcessorList([processor])
        stream.pieces = self._run(kwargs, request, streamer, stream)
        return stream

    def _grammar_processor(self, request: Generation, max_tokens: int) -> GrammarProcessor:
        """Built here, in the model's worker thread: compiling a grammar and, the first time,
        reading the vocabulary (about a second for 50k tokens) stay off the event loop."""
        assert request.constraint is not None
        grammar = grammar_for(request.constraint)
        if self._grammar_tokenizer is None:
            eos = self._eos_ids()
            if not eos:
                raise EngineError("this model has no EOS token; constrained output needs one")
            vocab = max(len(self._tokenizer), int(self._model.config.vocab_size))
            self._grammar_tokenizer = tokenizer_for(self._tokenizer, vocab, eos)
            self._closers = closer_tokens(self._tokenizer)
        return GrammarProcessor(
            self._grammar_tokenizer,
            grammar,
            max_tokens,
            self._closers,
            calls=isinstance(request.constraint, ToolUse),
        )

    def _logprobs(self, output: Any, prompt_tokens: int, top: int) -> list[TokenLogprob]:
        """Each generated token's log probability under the model's own distribution (the
        raw logits, before temperature, top_p and constraints), EOS left out as OpenAI does."""
        eos = set(self._eos_ids())
        found: list[TokenLogprob] = []
        for step, logits in enumerate(output.logits):
            token = int(output.sequences[0, prompt_tokens + step])
            if token in eos:
                break
            row = torch.log_softmax(logits[0].float(), dim=-1)
            best = torch.topk(row, top) if top else None
            alternatives = (
                ()
                if best is None
                else tuple(
                    (self._tokenizer.decode([int(i)]), float(v))
                    for v, i in zip(best.values, best.indices, strict=True)
                )
            )
            text = self._tokenizer.decode([token])
            found.append(TokenLogprob(text, float(row[token]), alternatives))
        return found

    def _eos_ids(self) -> list[int]:
        eos = self._model.generation_config.eos_token_id
        if eos is None:
            eos = self._tokenizer.eos_token_id
        return [int(e) for e in (eos if isinstance(eos, list) else [eos]) if e is not None]

    def _run(
        self,
        kwargs: dict[str, Any],
        request: Generation,
        streamer: TextIteratorStreamer,
        stream: GenerationStream,
    ) -> Iterator[str]:
        """Generate in a helper thread while the calling thread hands out the pieces."""
        result: dict[str, Any] = {}

        def work() -> None:
            try:
                with torch.inference_mode():
                    if request.seed is not None:
                        torch.manual_seed(request.seed)
                    result["ids"] = self._model.generate(**kwargs)
            except BaseException as exc:  # re-raised in the consuming thread below
                result["error"] = exc
                streamer.end()  # type: ignore[no-untyped-call]

        thread = threading.Thread(target=work, name="generate", daemon=True)
        thread.start()
        finished = False
        try:
            yield from streamer
            finished = True
        finally:
            if not finished:  # the caller stopped reading: stop at the next decoding step
                request.cancel.set()
            # Return only once the model is idle, so that the next request never runs beside it.
            thread.join()
        if "error" in result:
            raise EngineError(f"generation failed: {result['error']}")
        output = result["ids"]
        if request.logprobs is not None:
            stream.logprobs = self._logprobs(output, stream.prompt_tokens, request.logprobs)
            result["ids"] = output.sequences
        generated = int(result["ids"].shape[1]) - stream.prompt_tokens
        stream.completion_tokens = generated
        eos_ids = set(self._eos_ids())
        last = int(result["ids"][0, -1])
        hit_limit = generated >= kwargs["max_new_tokens"] and last not in eos_ids
        stream.finish_reason = "length" if hit_limit else "stop"

    def _refuse_tools(self, request: Generation) -> None:
        """Tools, tool calls and tool results for a model whose chat template never reads
        `tools` would be dropped or garbled silently."""
        turns = [
            i
            for i, m in enumerate(request.messages or [])
            if m.get("tool_calls") or m["role"] == "tool"
        ]
        if (request.tools or turns) and not template_reads_tools(self._tokenizer):
            where = "'tools'" if request.tools else f"tool turns (messages[{turns[0]}])"
            raise EngineError(
                "this model's chat template does not render tools, so the model cannot be told "
                f"about them; leave out {where}, or serve a model whose template supports tools",
                param="tools" if request.tools else "messages",
            )

    def _refuse_huge(self, request: Generation) -> None:
        """A prompt whose beginning alone fills the context, refused before tokenizing the rest
        of it (a megabyte takes a second or more)."""
        limit = self.context_tokens()
        if limit is None:
            return
        where = "messages" if request.messages is not None else "prompt"
        if request.messages is None:
            text, specials = request.prompt or "", True
        elif getattr(self._tokenizer, "chat_template", None):
            text = self._tokenizer.apply_chat_template(
                request.messages, tools=request.tools, add_generation_prompt=True, tokenize=False
            )
            specials = False  # the template writes them, as apply_chat_template tokenizes
        else:
            return  # _encode says why this model cannot take messages

        def count(parts: list[str]) -> int:
            return len(self._tokenizer(parts[0], add_special_tokens=specials)["input_ids"])

        head = head_tokens(count, [text], limit - 1)  # a prompt that fills it leaves no room
        if head is not None:
            found = f"your request has at least {head:,} tokens in the {where} alone"
            raise context_exceeded(limit, found, param=where)

    def _encode(self, request: Generation) -> Any:
        if request.messages is not None:
            if not getattr(self._tokenizer, "chat_template", None):
                raise EngineError("this model has no chat template; use /v1/completions")
            ids = self._tokenizer.apply_chat_template(
                request.messages,
                tools=request.tools,
                add_generation_prompt=True,
                return_tensors="pt",
                return_dict=True,
            )["input_ids"]
        else:
            ids = self._tokenizer(request.prompt or "", return_tensors="pt")["input_ids"]
        if ids.shape[1] == 0:
            raise EngineError("the prompt is empty")
        return ids

    def close(self) -> None:
        del self._model
        del self._tokenizer
