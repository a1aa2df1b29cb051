"""Language detection for mentions that arrive without a language (any connector).

Uses py3langid (the maintained fork of langid.py): its model ships inside the wheel, so nothing is
downloaded at run time. On short Dutch and English posts it was the most accurate and by far the
cheapest of the candidates measured (bench/README.md, "Language detection"). The detector knows
only the languages a Dutch service meets (`LANGUAGES`), which makes it more accurate on short
Dutch/English text, and it answers None rather than guess when the text is too short or no
language is clearly ahead. The same text always gives the same answer; the model is loaded once
per process, on first use.
"""

from __future__ import annotations

import dataclasses
import re
import threading
from typing import Any

from app.mentions.model import Mention

LANGUAGES = ("nl", "en", "de", "fr", "es", "it", "pt", "tr", "pl", "ar", "ro", "uk")
MIN_LETTERS = 3
MIN_PROBABILITY = 0.5
_NOISE = re.compile(r"https?://\S+|www\.\S+|[@#]\w+|\S+@\S+")


def detection_text(text: str) -> str:
    """The part of `text` that says something about its language: URLs, @handles, #hashtags and
    e-mail addresses removed (they are often English whatever the post's language)."""
    return " ".join(_NOISE.sub(" ", text).split())


class LanguageDetector:
    """Detects the language of short posts: `detect` answers an ISO 639-1 code from `languages`,
    or None when the text has fewer than `MIN_LETTERS` letters or the best language's probability
    is below `min_probability` (so rules see "unknown" rather than a wrong guess)."""

    def __init__(self, languages: tuple[str, ...] = LANGUAGES, min_probability: float = MIN_PROBABILITY):
        from py3langid.langid import _load_identifier  # the packaged model

        self._identifier: Any = _load_identifier(norm_probs=True, langs=list(languages))
        self._min_probability = min_probability

    def detect(self, text: str) -> str | None:
        cleaned = detection_text(text)
        if sum(ch.isalpha() for ch in cleaned) < MIN_LETTERS:
            return None
        language, probability = self._identifier.classify(cleaned)
        return str(language) if float(probability) >= self._min_probability else None


_shared: LanguageDetector | None = None
_lock = threading.Lock()


def detect_language(text: str) -> str | None:
    """The language of `text` with the process's shared detector (built on first use)."""
    global _shared
    if _shared is None:
        with _lock:
            if _shared is None:
                _shared = LanguageDetector()
    return _shared.detect(text)


def warm_up() -> None:
    """Build the shared detector now (about a second, more on a busy machine), so that the first
    mention without a language does not pay the model's load inside its request."""
    detect_language("warm up")


def with_detected_language(mention: Mention) -> Mention:
    """`mention` with the detected language when it carries none and has text; otherwise unchanged.
    What every connector's mentions go through at ingest, and what `rules eval` applies, so both
    see the same language."""
    if mention.language is not None or not mention.text.strip():
        return mention
    return dataclasses.replace(mention, language=detect_language(mention.text))
