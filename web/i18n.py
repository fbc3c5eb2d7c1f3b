"""Welsh and English: the catalogues (Babel ``.po`` files, read at start; no compiled
``.mo`` is kept in the repository), the reader's language, and dates in that language.

English is the source language: the strings in the templates and ``web.words`` are the
English. ``web/translations/cy/LC_MESSAGES/messages.po`` holds every one in Welsh; a test
refuses a string without its Welsh (no page falls back to English).
"""

from __future__ import annotations

import gettext as gettext_module
import io
from dataclasses import dataclass
from datetime import date, datetime
from functools import cache
from pathlib import Path
from typing import Protocol
from zoneinfo import ZoneInfo

from babel import Locale
from babel.dates import get_month_names
from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po

LANGUAGES = ("en", "cy")
DEFAULT_LANGUAGE = "en"
COOKIE = "ifss_lang"
LONDON = ZoneInfo("Europe/London")
CATALOGUES = Path(__file__).parent / "translations"
_BABEL_LOCALE = {"en": "en_GB", "cy": "cy_GB"}


@cache
def translations(language: str) -> gettext_module.NullTranslations:
    """The compiled catalogue of ``language`` (English: the source strings themselves)."""
    if language == "en":
        return gettext_module.NullTranslations()
    path = CATALOGUES / language / "LC_MESSAGES" / "messages.po"
    with path.open("rb") as po:
        catalog = read_po(po, locale=language)
    compiled = io.BytesIO()
    write_mo(compiled, catalog, use_fuzzy=False)
    compiled.seek(0)
    return gettext_module.GNUTranslations(compiled)


@dataclass(frozen=True)
class Language:
    code: str

    @property
    def gettext(self) -> gettext_module.NullTranslations:
        return translations(self.code)

    def _(self, message: str) -> str:
        return self.gettext.gettext(message)

    def ngettext(self, singular: str, plural: str, n: int) -> str:
        return self.gettext.ngettext(singular, plural, n)

    @property
    def locale(self) -> Locale:
        return Locale.parse(_BABEL_LOCALE[self.code])

    def day(self, value: date | datetime | None) -> str:
        """``12 March 2026`` / ``12 Mawrth 2026`` (a moment: its day in Wales)."""
        if value is None:
            return ""
        if isinstance(value, datetime):
            value = value.astimezone(LONDON).date()
        return f"{value.day} {month_names(self.code)[value.month]} {value.year}"

    def moment(self, value: datetime | None) -> str:
        """``12 March 2026, 14:05`` in Wales's time (a page formats hundreds: no per-call
        pattern parsing, the month names from Babel's CLDR data once)."""
        if value is None:
            return ""
        local = value.astimezone(LONDON)
        return f"{local.day} {month_names(self.code)[local.month]} {local.year}, {local:%H:%M}"

    @property
    def other(self) -> str:
        return "cy" if self.code == "en" else "en"


@cache
def month_names(language: str) -> dict[int, str]:
    """The months' names in ``language`` (CLDR, through Babel): ``Mawrth``, ``March``."""
    return dict(get_month_names("wide", locale=_BABEL_LOCALE[language]))


def language_of(cookie: str | None, query: str | None = None) -> Language:
    """The reader's language: ``?lang=`` first, then their cookie, else English."""
    for choice in (query, cookie):
        if choice in LANGUAGES:
            return Language(choice)
    return Language(DEFAULT_LANGUAGE)


class Reader(Protocol):
    """What words a page's reader needs (``Language`` is one): their language's code, its
    catalogue, and days and moments written in it."""

    @property
    def code(self) -> str: ...

    def _(self, message: str) -> str: ...

    def day(self, value: date) -> str: ...

    def moment(self, value: datetime) -> str: ...
