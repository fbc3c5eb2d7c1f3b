"""Dates the rules decide: working days and calendar months.

Pure functions of dates, shared by the rules that decide deadlines (``workflows``) and the
upcasters that give old events the deadline they implied (``events.upcasters``).
"""

from __future__ import annotations

from datetime import date, datetime, timedelta


def add_working_days(start: datetime, days: int) -> datetime:
    """``start`` plus ``days`` weekdays, same time of day. Bank holidays are not modelled."""
    current = start
    remaining = days
    while remaining > 0:
        current += timedelta(days=1)
        if current.weekday() < 5:
            remaining -= 1
    return current


def add_months(start: date, months: int) -> date:
    """Calendar months later, clamped to the month's last day (31 Jan + 1 month = 28/29 Feb)."""
    month_index = start.month - 1 + months
    year = start.year + month_index // 12
    month = month_index % 12 + 1
    for day in (start.day, 30, 29, 28):
        try:
            return date(year, month, min(start.day, day))
        except ValueError:
            continue
    raise AssertionError("unreachable")
