"""A ready-to-paste Python snippet that calls a model through the gateway, by its category."""

from __future__ import annotations

from airlock import model_category

_HEAD = 'from openai import OpenAI\n\nclient = OpenAI(base_url="{base}", api_key="ak-...")\n'
_CALL = {
    model_category.EMBEDDINGS: (
        'result = client.embeddings.create(model="{name}", input=["hello", "world"])\n'
        "print(len(result.data[0].embedding))"
    ),
    model_category.CHAT: (
        'reply = client.chat.completions.create(\n    model="{name}",\n'
        '    messages=[{{"role": "user", "content": "Hello!"}}],\n)\n'
        "print(reply.choices[0].message.content)"
    ),
    model_category.RERANK: (
        'ranked = client.post(\n    "/rerank",\n    cast_to=object,\n'
        '    body={{"model": "{name}", "query": "refund", "documents": ["a", "b"]}},\n)\n'
        "print(ranked)"
    ),
    model_category.TRANSCRIPTION: (
        'with open("meeting.wav", "rb") as audio:\n'
        '    text = client.audio.transcriptions.create(model="{name}", file=audio)\n'
        "print(text.text)"
    ),
}
_CALL[model_category.CODE] = _CALL[model_category.CHAT]


def snippet(category: str, name: str, base: str) -> str | None:
    """None for a category no snippet is written for (or a model that is not servable)."""
    call = _CALL.get(category)
    if call is None:
        return None
    return _HEAD.format(base=base) + call.format(name=name)
