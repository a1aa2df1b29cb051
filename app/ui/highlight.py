"""Matched words highlighted from the routing spans (pure).

Spans are code-point offsets into the first mention's text, which is what Python indexes by, so
slicing the str is exact for any text (emoji and accents included).
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Segment:
    """A run of text and the rules that matched it (empty: not matched)."""

    text: str
    rules: tuple[str, ...] = ()


def highlight(text: str, spans: list[tuple[int, int, str]]) -> list[Segment]:
    """`text` cut into segments at every span boundary. Overlapping spans mark the union, naming
    every rule; spans outside the text are clipped; joining the segments gives `text` back."""
    marks: list[set[str]] = [set() for _ in text]
    for start, end, rule in spans:
        for i in range(max(0, start), min(len(text), end)):
            marks[i].add(rule)
    segments: list[Segment] = []
    current = ""
    current_rules: tuple[str, ...] = ()
    for char, rules in zip(text, marks, strict=True):
        key = tuple(sorted(rules))
        if current and key != current_rules:
            segments.append(Segment(current, current_rules))
            current = ""
        current_rules = key
        current += char
    if current:
        segments.append(Segment(current, current_rules))
    return segments


def matched_words(text: str, spans: list[tuple[int, int, str]]) -> list[tuple[str, list[str]]]:
    """Each distinct matched word with the rules that matched it, in text order."""
    words: dict[str, list[str]] = {}
    for start, end, rule in sorted(spans):
        word = text[max(0, start):min(len(text), end)]
        if word:
            rules = words.setdefault(word, [])
            if rule not in rules:
                rules.append(rule)
    return list(words.items())
