"""Amounts of money on the command line (``ifss team costs --staff``): pounds as written,
to the penny, into whole pence; anything else refused naming the option."""

from __future__ import annotations

import pytest
import typer

from cli.report import pence


@pytest.mark.parametrize(
    ("written", "expected"),
    [("412000.50", 41_200_050), ("£250,000.50", 25_000_050), ("0", 0), (" 7 ", 700),
     ("1e3", 100_000), ("1000000000", 100_000_000_000)],
)  # fmt: skip
def test_pounds_as_written_become_whole_pence(written: str, expected: int) -> None:
    assert pence("staff", written) == expected


@pytest.mark.parametrize(
    ("written", "rule"),
    [("1.005", "at most 2 decimal places"), ("NaN", "at least 0"), ("Infinity", "at least 0"),
     ("-3", "at least 0"), ("1000000000.01", "at most 1000000000"), ("1e999999", "at most"),
     ("abc", "an amount in pounds"), ("", "an amount in pounds"), ("1\x00", "an amount"),
     ("🙂", "an amount in pounds")],
)  # fmt: skip
def test_other_amounts_are_refused_naming_the_option(
    written: str, rule: str, capsys: pytest.CaptureFixture[str]
) -> None:
    with pytest.raises(typer.Exit) as refused:
        pence("overheads", written)
    assert refused.value.exit_code == 2
    said = capsys.readouterr().err
    assert said.startswith("refused: overheads: ") and rule in said, said
