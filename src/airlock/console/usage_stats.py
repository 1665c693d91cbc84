"""Usage per day, key and model (requests, tokens, p50/p95 latency, errors) from the gateway's
usage_records, and a bar chart of it drawn on the server as SVG (no script, no library)."""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from html import escape
from typing import Any

from sqlalchemy import Engine, select
from sqlalchemy.orm import Session

from airlock.registry.gateway_tables import ApiKey, UsageRecord


@dataclass(frozen=True)
class UsageRow:
    day: date
    key: str
    model: str
    requests: int
    errors: int
    prompt_tokens: int
    completion_tokens: int
    p50_ms: float
    p95_ms: float

    def to_dict(self) -> dict[str, Any]:
        return {**vars(self), "day": self.day.isoformat()}


def percentile(values: list[float], fraction: float) -> float:
    """The nearest-rank percentile (what a reader can check by counting)."""
    ordered = sorted(values)
    rank = max(1, -(-int(fraction * 100 * len(ordered)) // 100))
    return ordered[min(rank, len(ordered)) - 1]


def usage_rows(engine: Engine, days: int = 14, model: str | None = None) -> list[UsageRow]:
    """Newest day first; of one `model` when given."""
    since = datetime.now(UTC) - timedelta(days=days)
    query = (
        select(UsageRecord, ApiKey.name)
        .outerjoin(ApiKey, ApiKey.id == UsageRecord.key_id)
        .where(UsageRecord.created_at >= since)
    )
    if model is not None:
        query = query.where(UsageRecord.model == model)
    groups: dict[tuple[date, str, str], list[UsageRecord]] = defaultdict(list)
    with Session(engine) as session:
        for record, key_name in session.execute(query):
            at = record.created_at
            at = at if at.tzinfo is not None else at.replace(tzinfo=UTC)
            groups[(at.date(), key_name or "(no key)", record.model)].append(record)
    rows = [
        UsageRow(
            day=day,
            key=key,
            model=model,
            requests=len(records),
            errors=sum(1 for r in records if r.status >= 400),
            prompt_tokens=sum(r.prompt_tokens for r in records),
            completion_tokens=sum(r.completion_tokens for r in records),
            p50_ms=percentile([r.latency_ms for r in records], 0.50),
            p95_ms=percentile([r.latency_ms for r in records], 0.95),
        )
        for (day, key, model), records in groups.items()
    ]
    return sorted(rows, key=lambda r: (r.day, r.key, r.model), reverse=True)


def requests_chart(rows: list[UsageRow], days: int = 14) -> str:
    """Requests per day (errors in red on top), the last `days` days, as an SVG element."""
    today = datetime.now(UTC).date()
    span = [today - timedelta(days=n) for n in range(days - 1, -1, -1)]
    ok: dict[date, int] = defaultdict(int)
    bad: dict[date, int] = defaultdict(int)
    for row in rows:
        ok[row.day] += row.requests - row.errors
        bad[row.day] += row.errors
    top = max([ok[d] + bad[d] for d in span] + [1])
    width, height, pad = 40 * days + 40, 180, 24
    scale = (height - 2 * pad) / top
    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {width} {height}" '
        f'role="img" aria-label="requests per day" class="chart">',
        f'<text x="4" y="14" class="axis">{top} request(s) at most</text>',
        f'<line x1="30" y1="{height - pad}" x2="{width}" y2="{height - pad}" class="axis"/>',
    ]
    for i, day in enumerate(span):
        x = 36 + i * 40
        good, errors = ok[day] * scale, bad[day] * scale
        base = height - pad
        total = ok[day] + bad[day]
        parts.append(
            f'<rect x="{x}" y="{base - good:.1f}" width="28" height="{good:.1f}" class="ok">'
            f"<title>{escape(day.isoformat())}: {total} requests, {bad[day]} errors</title></rect>"
        )
        if errors:
            parts.append(
                f'<rect x="{x}" y="{base - good - errors:.1f}" width="28" height="{errors:.1f}" '
                'class="bad"/>'
            )
        if total:
            parts.append(
                f'<text x="{x + 14}" y="{base - good - errors - 4:.1f}" '
                f'class="count">{total}</text>'
            )
        parts.append(f'<text x="{x + 14}" y="{height - 6}" class="day">{day:%d %b}</text>')
    parts.append("</svg>")
    return "".join(parts)
