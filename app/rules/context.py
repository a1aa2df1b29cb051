"""What conditions are evaluated against: one mention at one instant, with per-mention caches of
folded values and keyword hits so that each list is scanned at most once per field."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Any, Literal

from app.mentions.model import Mention
from app.rules.folding import FoldedText, fold
from app.rules.matching import ItemMatcher, Occurrence, sentiment

FieldType = Literal["str", "number", "bool", "time"]
FIELDS: dict[str, FieldType] = {
    "text": "str",
    "language": "str",
    "channel": "str",
    "is_private": "bool",
    "author.handle": "str",
    "author.followers": "number",
    "author.verified": "bool",
    "sentiment": "number",
    "time": "time",
    "connector": "str",
    "account": "str",
}


class Context:
    """One evaluation. Built per mention; never shared between threads."""

    __slots__ = ("_folded", "_hits", "connector", "mention", "now", "sentiment", "text", "text_hits")

    def __init__(self, mention: Mention, now: datetime, connector: str | None, text: FoldedText,
                 text_hits: tuple[Occurrence, ...], sentiment: int):
        self.mention = mention
        self.now = now
        self.connector = connector
        self.text = text
        # Every occurrence in the folded text of an item any folded text condition or weighted
        # list uses (one scan of the lexicon); each condition then only filters these.
        self.text_hits = text_hits
        self.sentiment = sentiment
        self._folded: dict[str, str] = {}
        self._hits: dict[tuple[str, int, bool], tuple[Occurrence, ...]] = {}

    @classmethod
    def scanned(cls, mention: Mention, now: datetime, connector: str | None, lexicon: ItemMatcher,
                weights: Mapping[str, int]) -> Context:
        """A context whose text hits come from the lexicon's plain `ItemMatcher` scan."""
        text = FoldedText(mention.text)
        hits = lexicon.occurrences(text.folded)
        return cls(mention, now, connector, text, hits, sentiment(weights, hits))

    def value(self, field: str) -> Any:
        """The field's value, or None when the mention lacks it."""
        m = self.mention
        match field:
            case "text":
                return m.text
            case "language":
                return m.language
            case "channel":
                return m.channel
            case "is_private":
                return m.is_private
            case "author.handle":
                return m.author.handle
            case "author.followers":
                return m.author.followers
            case "author.verified":
                return m.author.verified
            case "sentiment":
                return self.sentiment
            case "time":
                return self.now
            case "connector":
                return self.connector
            case "account":
                return m.account
        raise KeyError(field)

    def folded(self, field: str, value: str) -> str:
        """The folded form of a string field's value (cached)."""
        if field == "text":
            return self.text.folded
        cached = self._folded.get(field)
        if cached is None:
            cached = self._folded[field] = fold(value)
        return cached

    def hits(self, field: str, value: str, matcher: ItemMatcher, cased: bool) -> tuple[Occurrence, ...]:
        """Occurrences of a matcher's items in the field (folded unless `cased`), cached."""
        key = (field, id(matcher), cased)
        cached = self._hits.get(key)
        if cached is None:
            if field == "text" and not cased:
                members = matcher.item_set
                cached = tuple(o for o in self.text_hits if o.item in members)
            else:
                cached = matcher.occurrences(value if cased else self.folded(field, value))
            self._hits[key] = cached
        return cached

    def original_span(self, start: int, end: int, cased: bool) -> tuple[int, int]:
        """A text match as original code-point offsets."""
        return (start, end) if cased else self.text.to_original(start, end)
