"""Usage numbers the page shows: nearest-rank percentiles a reader can check by counting, and
the chart's bars matching the table."""

from __future__ import annotations

import re
from datetime import UTC, datetime

from airlock.console.usage_stats import UsageRow, percentile, requests_chart


def test_nearest_rank_percentiles() -> None:
    values = [float(v) for v in range(100, 0, -1)]  # order does not matter
    assert percentile(values, 0.50) == 50.0
    assert percentile(values, 0.95) == 95.0
    assert percentile([7.0], 0.95) == 7.0
    assert percentile([1.0, 2.0, 3.0], 0.50) == 2.0


def test_chart_draws_today_with_its_errors() -> None:
    today = datetime.now(UTC).date()
    rows = [
        UsageRow(today, "app", "m1", 8, 2, 10, 0, 5.0, 9.0),
        UsageRow(today, "app", "m2", 4, 0, 10, 0, 5.0, 9.0),
    ]
    svg = requests_chart(rows, days=3)
    assert svg.startswith("<svg") and svg.endswith("</svg>")
    assert f"<title>{today.isoformat()}: 12 requests, 2 errors</title>" in svg
    assert len(re.findall(r'class="bad"', svg)) == 1  # one error bar, today's
    assert ">12</text>" in svg
