"""The shapes of the platforms' ids, checked before an id goes into a platform API URL.

Pure. Ids come from webhook bodies, which an outsider can shape (any authentic-looking delivery
carries them), so an id such as `../me/feed` must never reach a URL path: it would re-target the
request on the platform's host (a DM reply becoming a public post). Every id is checked against its
platform's format and percent-encoded as one path segment.
"""

from __future__ import annotations

import re
from typing import Any
from urllib.parse import quote

# Graph API object ids are decimal; Page posts and comments are `<page or post id>_<id>`.
GRAPH_ID = re.compile(r"[0-9]{1,32}(?:_[0-9]{1,32})?")
# X (snowflake) ids of posts and users are decimal, at most 19 digits.
X_ID = re.compile(r"[0-9]{1,19}")
# Telegram chat and message ids are (possibly negative) integers.
TELEGRAM_NUMBER = re.compile(r"-?[0-9]{1,20}")
# A Telegram bot token: the bot's numeric id, a colon, then base64url characters.
TELEGRAM_TOKEN = re.compile(r"[0-9]{1,20}:[A-Za-z0-9_-]{1,100}")


class InvalidPlatformId(ValueError):
    """An id that is not in its platform's format; no request is made with it."""


def path_segment(value: Any, pattern: re.Pattern[str], what: str) -> str:
    """`value` as one percent-encoded URL path segment, when it is in `pattern`'s format; else
    InvalidPlatformId naming `what`."""
    text = str(value) if isinstance(value, str | int) and not isinstance(value, bool) else ""
    if not pattern.fullmatch(text):
        raise InvalidPlatformId(f"{what} {str(value)[:40]!r} is not a valid platform id")
    return quote(text, safe=":")  # a colon is a plain path character (Telegram tokens hold one)


def graph_id(value: Any, what: str) -> str:
    """A Graph API (Facebook, Instagram, Messenger, WhatsApp) id as a path segment."""
    return path_segment(value, GRAPH_ID, what)


def x_id(value: Any, what: str) -> str:
    """An X post or user id as a path segment."""
    return path_segment(value, X_ID, what)
