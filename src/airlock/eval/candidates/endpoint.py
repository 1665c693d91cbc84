"""An OpenAI-compatible endpoint as a candidate (the hosted API in use today, a vLLM server,
another Airlock), called with the official `openai` client: /embeddings for retrieval,
/rerank for rerank data (vLLM, Airlock, Jina and Cohere-style servers), /chat/completions or
/completions for generation, /audio/transcriptions for transcription.

The API key comes from an environment variable named after the endpoint (see `key_variable`);
without one, no key is sent. Answers that say every request would fail the same way (a refused
key, an unknown model or route, no server) stop the run; any other error fails the item."""

from __future__ import annotations

import re
from typing import Any

import numpy as np

from airlock.eval.candidates.interface import Answer, Candidate, ItemFailed, Vectors, unit_rows
from airlock.eval.datasets.interface import GenerationItem, TranscriptionItem
from airlock.eval.errors import CandidateError

KEY_PREFIX = "AIRLOCK_EVAL_KEY_"
# The client's own retries (with backoff) on connection errors, 408, 409, 429 and 5xx.
RETRIES = 2


def key_variable(name: str) -> str:
    """`AIRLOCK_EVAL_KEY_` + the endpoint's name in capitals, other characters as `_`:
    `--endpoint gpt-4o=...` reads AIRLOCK_EVAL_KEY_GPT_4O."""
    return KEY_PREFIX + re.sub(r"[^A-Z0-9]", "_", name.upper())


class EndpointCandidate(Candidate):
    kind = "endpoint"

    def __init__(
        self, name: str, url: str, model: str, api_key: str | None, timeout_s: float
    ) -> None:
        import openai

        self.name = name
        self.endpoint = url
        self._model = model
        # The client insists on a key; a server that needs none ignores the header.
        self._client = openai.OpenAI(
            base_url=url, api_key=api_key or "none", max_retries=RETRIES, timeout=timeout_s
        )
        self._has_key = api_key is not None

    def open(self) -> None:
        pass  # the client connects on the first request

    def embed(self, texts: list[str]) -> tuple[Vectors, int]:
        response = self._call(
            self._client.embeddings.create, model=self._model, input=texts, encoding_format="float"
        )
        rows = sorted(response.data, key=lambda row: row.index)
        if len(rows) != len(texts):
            raise ItemFailed(f"{len(rows)} embeddings came back for {len(texts)} texts")
        vectors = np.array([row.embedding for row in rows], dtype=np.float32)
        usage = getattr(response, "usage", None)
        return unit_rows(vectors), int(getattr(usage, "prompt_tokens", 0) or 0)

    def rerank(self, query: str, documents: list[str]) -> tuple[list[float], int]:
        body = {"model": self._model, "query": query, "documents": documents}
        response: Any = self._call(self._client.post, "/rerank", body=body, cast_to=object)
        scores: list[float | None] = [None] * len(documents)
        try:
            for result in response["results"]:
                scores[int(result["index"])] = float(result["relevance_score"])
        except (KeyError, TypeError, ValueError, IndexError):
            raise ItemFailed(
                "the /rerank answer is not a list of {index, relevance_score}"
            ) from None
        if any(score is None for score in scores):
            raise ItemFailed("the /rerank answer left out some documents")
        usage = response.get("usage") or {}
        tokens = usage.get("prompt_tokens") or usage.get("total_tokens") or 0
        return [float(s) for s in scores if s is not None], int(tokens)

    def generate(self, item: GenerationItem, max_tokens: int) -> Answer:
        if item.messages is not None:
            response = self._call(
                self._client.chat.completions.create,
                model=self._model,
                messages=[dict(m) for m in item.messages],
                max_tokens=max_tokens,
                temperature=0,
            )
            text = response.choices[0].message.content or ""
        else:
            response = self._call(
                self._client.completions.create,
                model=self._model,
                prompt=item.prompt or "",
                max_tokens=max_tokens,
                temperature=0,
            )
            text = response.choices[0].text
        usage = response.usage
        prompt = usage.prompt_tokens if usage else 0
        return Answer(text, prompt, usage.completion_tokens if usage else 0)

    def transcribe(self, item: TranscriptionItem) -> Answer:
        try:
            data = item.audio.read_bytes()
        except OSError as exc:
            raise ItemFailed(f"cannot read {item.audio.name}: {exc.strerror or exc}") from None
        options: dict[str, Any] = {"language": item.language} if item.language else {}
        response = self._call(
            self._client.audio.transcriptions.create,
            model=self._model,
            file=(item.audio.name, data),
            temperature=0,
            **options,
        )
        return Answer(response.text, 0, 0)

    def close(self) -> None:
        self._client.close()

    def _call(self, method: Any, *args: Any, **kwargs: Any) -> Any:
        import openai

        try:
            return method(*args, **kwargs)
        except openai.APITimeoutError:
            raise ItemFailed("the request timed out") from None
        except openai.APIConnectionError as exc:
            raise CandidateError(f"endpoint {self.name!r} ({self.endpoint}): {exc}") from None
        except (openai.AuthenticationError, openai.PermissionDeniedError) as exc:
            hint = "" if self._has_key else f"; set {key_variable(self.name)} to its API key"
            raise CandidateError(
                f"endpoint {self.name!r} refused the request ({exc.status_code}){hint}: "
                f"{_message(exc)}"
            ) from None
        except openai.NotFoundError as exc:
            raise CandidateError(
                f"endpoint {self.name!r} has no model {self._model!r} or does not offer this "
                f"API (404): {_message(exc)}"
            ) from None
        except openai.APIStatusError as exc:
            raise ItemFailed(f"HTTP {exc.status_code}: {_message(exc)}") from None
        except openai.APIError as exc:  # an answer the client could not read
            raise ItemFailed(str(exc)) from None


def _message(exc: Any) -> str:
    body = getattr(exc, "body", None)
    if isinstance(body, dict):
        inner = body.get("error", body)
        if isinstance(inner, dict) and isinstance(inner.get("message"), str):
            return str(inner["message"])
    return str(getattr(exc, "message", exc))
