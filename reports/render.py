"""The report as HTML (accessible, printable), CSV (every figure and every table) or JSON."""

from __future__ import annotations

import base64
import csv
import hashlib
import io
from typing import Any

import orjson
from jinja2 import Environment, PackageLoader, select_autoescape
from markupsafe import Markup

from reports.charts import bar_chart, line_chart
from reports.evaluation import Figure, Report

CHARTS = {
    "average_maintained_change": line_chart,
    "referrals_by_agency": bar_chart,
    "time_to_first_meeting": bar_chart,
    "rejection_reasons": bar_chart,
}

STYLE = """
  body { font-family: Arial, sans-serif; color: #0b0c0c; margin: 2rem; max-width: 60rem; line-height: 1.4; }
  h1, h2 { margin-top: 2rem; }
  table { border-collapse: collapse; margin: 1rem 0; width: 100%; }
  caption { text-align: left; font-weight: bold; padding: .5rem 0; }
  th, td { border-bottom: 1px solid #b1b4b6; padding: .4rem .6rem; text-align: left; vertical-align: top; }
  td.number { text-align: right; font-variant-numeric: tabular-nums; }
  .definition { color: #505a5f; font-size: .9rem; }
  .missing { color: #d4351c; }
  figure { margin: 1rem 0; }
  .chart-and-table { display: grid; grid-template-columns: minmax(0, 3fr) minmax(0, 2fr); gap: 1.5rem; align-items: start; }
  svg.report-chart { max-width: 100%; height: auto; }
  @media print { body { margin: 0; } .chart-and-table { break-inside: avoid; } a { color: inherit; } }
  @media (max-width: 50rem) { .chart-and-table { grid-template-columns: 1fr; } }
"""
# The HTML report's one inline style, allowed by its hash and nothing else (no script).
CSP = (
    "default-src 'none'; style-src 'sha256-"
    + base64.b64encode(hashlib.sha256(STYLE.encode()).digest()).decode()
    + "'; frame-ancestors 'none'"
)

_env = Environment(
    loader=PackageLoader("reports", "templates"),
    autoescape=select_autoescape(["html"]),
    trim_blocks=True,
    lstrip_blocks=True,
)


def shown(figure: Figure) -> str:
    """A figure's value as a reader reads it."""
    if not figure.recorded:
        return "not recorded"
    if figure.value is None:
        return "no cases"
    if figure.unit == "proportion":
        return f"{100 * figure.value:.1f}%"
    if figure.unit == "pounds":
        return f"£{figure.value:,.2f}"
    if figure.unit == "days":
        return f"{figure.value:g} working days"
    return f"{figure.value:,}"


def interval(figure: Figure) -> str:
    if figure.interval is None:
        return ""
    low, high = figure.interval
    return f"{100 * low:.1f}% to {100 * high:.1f}%"


def to_json(report: Report) -> bytes:
    return orjson.dumps(report.as_dict(), option=orjson.OPT_INDENT_2)


def digest(report: Report) -> str:
    """The content digest of a report (its JSON form): what a snapshot stores."""
    return hashlib.sha256(orjson.dumps(report.as_dict(), option=orjson.OPT_SORT_KEYS)).hexdigest()


def _safe(value: Any) -> Any:
    """A spreadsheet never evaluates a cell: text that starts like a formula is quoted."""
    if isinstance(value, str) and value[:1] in ("=", "+", "-", "@", "\t", "\r"):
        return "'" + value
    return value


def to_csv(report: Report) -> str:
    """Every figure, then every table, in one sheet (a blank line between sections)."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(["report", report.title])
    writer.writerow(["period", report.period.start.isoformat(), report.period.end.isoformat()])
    writer.writerow(["as_of", report.as_of.isoformat() if report.as_of else "live"])
    for name, value in report.scope.items():
        writer.writerow([name, value or "all"])
    writer.writerow([])
    writer.writerow(
        [
            "figure",
            "label",
            "value",
            "numerator",
            "denominator",
            "ci95_low",
            "ci95_high",
            "unit",
            "recorded",
            "excluded",
            "definition",
        ]
    )
    for f in report.figures:
        writer.writerow(
            [
                _safe(v)
                for v in (
                    f.key,
                    f.label,
                    f.value,
                    f.numerator,
                    f.denominator,
                    f.interval[0] if f.interval else None,
                    f.interval[1] if f.interval else None,
                    f.unit,
                    f.recorded,
                    "; ".join(f"{k}: {n}" for k, n in f.excluded.items()),
                    f.definition,
                )
            ]
        )
    for t in report.tables:
        writer.writerow([])
        writer.writerow(["table", t.key, t.title])
        writer.writerow(t.columns)
        for row in t.rows:
            writer.writerow([_safe(v) for v in row])
    return out.getvalue()


def to_html(report: Report) -> str:
    charts = {
        key: Markup(draw(report.table(key)))  # the charts escape every text they hold
        for key, draw in CHARTS.items()
        if any(t.key == key for t in report.tables)
    }
    return _env.get_template("report.html").render(
        report=report,
        charts=charts,
        shown=shown,
        interval=interval,
        digest=digest(report),
        style=Markup(STYLE),  # our own constant: its hash is in CSP
    )
