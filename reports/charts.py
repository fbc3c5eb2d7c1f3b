"""Server-side SVG charts of the report's tables: a line chart (average maintained change)
and horizontal bar charts. Each chart is drawn from a ``Table`` and printed beside it, so
every mark has its number in text; the SVG carries a title and a description for screen
readers (``role="img"``, ``aria-labelledby``).

Written by hand rather than with a charting library: two chart shapes, a few dozen lines
each, no JavaScript, output that prints and that a test can read back.
"""

from __future__ import annotations

from html import escape
from typing import Any

from reports.evaluation import Table

WIDTH, HEIGHT = 640, 300
LEFT, RIGHT, TOP, BOTTOM = 56, 24, 24, 56


def _frame(key: str, title: str, description: str, body: str, height: int = HEIGHT) -> str:
    return (
        f'<svg xmlns="http://www.w3.org/2000/svg" class="report-chart" role="img" '
        f'viewBox="0 0 {WIDTH} {height}" width="{WIDTH}" height="{height}" '
        f'aria-labelledby="{key}-title {key}-desc">'
        f'<title id="{key}-title">{escape(title)}</title>'
        f'<desc id="{key}-desc">{escape(description)}</desc>'
        f'<rect x="0" y="0" width="{WIDTH}" height="{height}" fill="#ffffff"/>'
        f"{body}</svg>"
    )


def line_chart(table: Table, *, value_column: int = 2, top: float = 10.0) -> str:
    """Mean score per stage (the service's "average maintained change" slide)."""
    points = [(str(row[0]), row[value_column]) for row in table.rows]
    inner_w, inner_h = WIDTH - LEFT - RIGHT, HEIGHT - TOP - BOTTOM
    step = inner_w / max(len(points) - 1, 1)
    parts: list[str] = []
    for tick in range(0, int(top) + 1, 2):
        y = TOP + inner_h - tick / top * inner_h
        parts.append(
            f'<line x1="{LEFT}" y1="{y:.1f}" x2="{WIDTH - RIGHT}" y2="{y:.1f}" '
            f'stroke="#b1b4b6" stroke-width="1"/>'
            f'<text x="{LEFT - 8}" y="{y + 4:.1f}" text-anchor="end" font-size="12">{tick}</text>'
        )
    coords: list[tuple[float, float, Any]] = []
    for i, (label, value) in enumerate(points):
        x = LEFT + i * step
        parts.append(
            f'<text x="{x:.1f}" y="{HEIGHT - BOTTOM + 20}" text-anchor="middle" '
            f'font-size="12">{escape(label)}</text>'
        )
        if value is not None:
            coords.append((x, TOP + inner_h - float(value) / top * inner_h, value))
    if len(coords) > 1:
        path = " ".join(f"{x:.1f},{y:.1f}" for x, y, _ in coords)
        parts.append(f'<polyline points="{path}" fill="none" stroke="#1d70b8" stroke-width="3"/>')
    for x, y, value in coords:
        parts.append(
            f'<circle cx="{x:.1f}" cy="{y:.1f}" r="5" fill="#1d70b8"/>'
            f'<text x="{x:.1f}" y="{y - 10:.1f}" text-anchor="middle" font-size="12" '
            f'font-weight="bold">{float(value):.1f}</text>'
        )
    parts.append(
        f'<text x="{LEFT + inner_w / 2:.1f}" y="{HEIGHT - 12}" text-anchor="middle" '
        f'font-size="12">mean goal score (0-10) at each stage</text>'
    )
    description = "; ".join(
        f"{label}: {'no scores' if value is None else f'{float(value):.1f}'}"
        for label, value in points
    )
    return _frame(table.key, table.title, description, "".join(parts))


def bar_chart(table: Table, *, value_column: int = 1) -> str:
    """One horizontal bar per row (counts)."""
    rows = [(str(row[0]), int(row[value_column] or 0)) for row in table.rows]
    bar, gap = 22, 8
    height = TOP + BOTTOM // 2 + max(len(rows), 1) * (bar + gap)
    label_w = 200
    inner_w = WIDTH - label_w - RIGHT - 40
    most = max((v for _, v in rows), default=0) or 1
    parts: list[str] = []
    for i, (label, value) in enumerate(rows):
        y = TOP + i * (bar + gap)
        w = value / most * inner_w
        parts.append(
            f'<text x="{label_w - 8}" y="{y + bar * 0.7:.1f}" text-anchor="end" '
            f'font-size="12">{escape(label.replace("_", " "))}</text>'
            f'<rect x="{label_w}" y="{y}" width="{w:.1f}" height="{bar}" fill="#1d70b8"/>'
            f'<text x="{label_w + w + 6:.1f}" y="{y + bar * 0.7:.1f}" font-size="12">'
            f"{value}</text>"
        )
    description = "; ".join(f"{label}: {value}" for label, value in rows) or "no data"
    return _frame(table.key, table.title, description, "".join(parts), height)
