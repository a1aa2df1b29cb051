"""English and Dutch texts of the UI, chosen per user; times shown in Europe/Amsterdam.

Guarantees: both catalogs have exactly the same keys (a test checks); a missing key raises KeyError
rather than showing a raw key to an agent; every time is converted to Europe/Amsterdam before it is
formatted, whatever zone it came in.
"""

from __future__ import annotations

from datetime import datetime
from functools import cache
from zoneinfo import ZoneInfo

from app.ui.texts_en import EN
from app.ui.texts_nl import NL

LANGUAGES = ("en", "nl")
AMSTERDAM = ZoneInfo("Europe/Amsterdam")
CATALOGS: dict[str, dict[str, str]] = {"en": EN, "nl": NL}
MONTHS = {
    "en": ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"),
    "nl": ("jan", "feb", "mrt", "apr", "mei", "jun", "jul", "aug", "sep", "okt", "nov", "dec"),
}


class Translator:
    """`t(key, **values)` for one language, plus formatters for times, events and fields."""

    def __init__(self, language: str):
        self.language = language if language in CATALOGS else "en"
        self.catalog = CATALOGS[self.language]

    def __call__(self, key: str, **values: object) -> str:
        text = self.catalog[key]
        return text.format(**values) if values else text

    def optional(self, key: str, fallback: str) -> str:
        return self.catalog.get(key, fallback)

    def dt(self, value: datetime | None) -> str:
        """`2 Dec 2026 14:05` in Amsterdam time."""
        if value is None:
            return "—"
        local = value.astimezone(AMSTERDAM)
        return f"{local.day} {MONTHS[self.language][local.month - 1]} {local.year} {local:%H:%M}"

    def relative(self, value: datetime, now: datetime) -> str:
        """`3 min ago`, `in 12 min`, `just now`, `2 h ago`, `in 3 d` (Dutch: `3 min geleden`,
        `over 12 min`): whole units, rounded down, as the browser's ticking copy in app.js does."""
        seconds = (value - now).total_seconds()
        s = int(abs(seconds))
        if s < 60:
            return self("rel.now")
        amount, unit = next((s // size, name) for size, name in ((86400, "d"), (3600, "h"), (60, "min"))
                            if s >= size)
        return self("rel.future" if seconds > 0 else "rel.past", n=amount, unit=self("rel." + unit))

    def exact(self, value: datetime) -> str:
        """The full time with its zone, for the hover title of a relative time."""
        return f"{self.dt(value)} ({AMSTERDAM.key})"

    def dt_text(self, value: object) -> str:
        """Like `dt` for an ISO 8601 string (as JSON documents carry times)."""
        if isinstance(value, datetime):
            return self.dt(value)
        try:
            return self.dt(datetime.fromisoformat(str(value).replace("Z", "+00:00")))
        except ValueError:
            return str(value)

    def event(self, kind: str) -> str:
        return self.optional("event." + kind, kind.replace("_", " "))

    def field(self, name: str) -> str:
        return self.optional("field." + name, name.replace("_", " "))

    def timer(self, kind: str) -> str:
        return self.optional("timer." + kind, kind.replace("_", " "))


def browser_language(accept_language: str) -> str:
    """The first of our languages in an Accept-Language header, by its q-weights (ties in the
    order given), else English: `nl-NL,nl;q=0.9,en;q=0.8` -> `nl`."""
    ranked: list[tuple[float, int, str]] = []
    for position, part in enumerate(accept_language.split(",")):
        code, _, params = part.strip().partition(";")
        weight = 1.0
        for param in params.split(";"):
            name, _, value = param.strip().partition("=")
            if name == "q":
                try:
                    weight = float(value)
                except ValueError:
                    weight = 0.0
        language = code.strip().lower()[:2]
        if language in LANGUAGES and weight > 0:
            ranked.append((-weight, position, language))
    return min(ranked)[2] if ranked else "en"


@cache
def translator(language: str) -> Translator:
    return Translator(language)
