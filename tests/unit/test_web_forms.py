"""The day and time boxes of the pages' forms, read back (pure: no server)."""

from __future__ import annotations

from datetime import date

from starlette.datastructures import FormData

from web.forms import correction, day_parts, joined_day, parts_of


def test_day_boxes_join_into_a_day_or_are_passed_on_for_the_model_to_refuse() -> None:
    assert joined_day({"day": "", "month": "", "year": ""}) is None  # left out
    assert joined_day({"day": "1", "month": "3", "year": "2026"}) == "2026-03-01"
    assert joined_day({"day": "31", "month": "2", "year": "2026"}) == "2026-02-31"
    assert joined_day({"day": "x", "month": "", "year": "2026"}) == "2026-?-x"
    assert joined_day({"day": "٣", "month": "3", "year": "2026"}) == "2026-03-٣"  # not ASCII
    assert joined_day({"day": "1", "month": "3", "year": "26"}) == "0026-03-01"
    with_time = {"day": "1", "month": "3", "year": "2026", "hour": "9", "minute": "5"}
    assert joined_day(with_time) == "2026-03-01T09:05"
    assert joined_day({**with_time, "hour": ""}) == "2026-03-01T?:05"
    assert day_parts(date(2026, 3, 1)) == {"day": "1", "month": "3", "year": "2026"}


def test_boxes_are_read_trimmed_and_short() -> None:
    form = FormData([("held_at-day", " 7 "), ("held_at-month", "1" * 10_000),
                     ("held_at-year", "2026\x00")])  # fmt: skip
    parts = parts_of(form, "held_at", time=True)
    assert parts == {"day": "7", "month": "1" * 10, "year": "2026\x00", "hour": "", "minute": ""}
    assert joined_day(parts) == "2026\x00-" + "1" * 10 + "-07T?:?"


def test_a_correction_form_becomes_the_command() -> None:
    values = {"version": "12", "changes": "duration_minutes", "value": "45", "reason": "other"}
    assert correction(values) == {"version": 12, "changes": {"duration_minutes": 45},
                                  "reason": "other"}  # fmt: skip
    assert correction({"changes": "family_staying_together", "value": "Ie"})["changes"] == {
        "family_staying_together": True
    }
    assert correction({"changes": "kind", "value": "phone"})["changes"] == {"kind": "phone"}
    assert "changes" not in correction({"value": "3"})  # no field chosen: the model says so


def test_a_models_error_is_placed_on_the_forms_field() -> None:
    from web.actions import _form_field

    assert _form_field(("children", 0, "personal", "date_of_birth")) == "children.0.date_of_birth"
    assert _form_field(("personal", "date_of_birth")) == "personal.date_of_birth"
    assert _form_field(("scores", 1, "score")) == "scores.score"
    assert _form_field(()) == "body"


def test_the_case_pages_day_is_a_day_and_nothing_else() -> None:
    import pytest

    from api.problems import ApiError
    from web.pages import _as_of

    assert _as_of(None) is None
    assert _as_of("2026-03-12") is not None
    for wrong in ("2026-03-123", "2026-03-12T10:00", "12/03/2026", "2026-02-30", "9999-12-31"):
        with pytest.raises(ApiError):
            _as_of(wrong)
