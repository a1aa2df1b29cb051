"""One pure adapter per platform: raw webhook bytes in, normalised events out."""

from __future__ import annotations

from collections.abc import Callable

from app.ingest.adapters.common import AdapterError, Parsed
from app.ingest.adapters.meta import parse_meta
from app.ingest.adapters.telegram import parse_telegram
from app.ingest.adapters.whatsapp import parse_whatsapp
from app.ingest.adapters.x import parse_x
from app.rules.model import Connector

PLATFORM_KINDS = ("meta", "whatsapp", "x", "telegram")


def adapter_for(connector: Connector) -> Callable[[bytes], Parsed]:
    """The parser for a platform connector's bodies (KeyError for `standard`)."""
    if connector.kind == "meta":
        return parse_meta
    if connector.kind == "whatsapp":
        return parse_whatsapp
    if connector.kind == "x":
        include = connector.include_retweets
        return lambda body: parse_x(body, include_retweets=include)
    if connector.kind == "telegram":
        return parse_telegram
    raise KeyError(connector.kind)


def parse_platform_body(connector: Connector, body: bytes) -> Parsed:
    """The events of one authentic body; a body that cannot be read at all becomes one failure."""
    try:
        return adapter_for(connector)(body)
    except AdapterError as exc:
        return Parsed(failures=[f"body: {exc}"])


__all__ = ["PLATFORM_KINDS", "AdapterError", "Parsed", "adapter_for", "parse_platform_body"]
