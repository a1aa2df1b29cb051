"""Fuzzing, always on (fixed budgets so the suite stays fast): every platform adapter and the
`standard` parser over arbitrary bytes, arbitrary JSON and mutated real samples. Nothing escapes
but the documented parse error (AdapterError; FormatError naming fields), and whatever they do
return can be stored on both databases (no NUL character anywhere)."""

from __future__ import annotations

import json
import os
from collections.abc import Callable
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from app.ingest.adapters import AdapterError, Parsed
from app.ingest.adapters.common import EditedItem, IgnoredItem, RemovedItem
from app.ingest.adapters.meta import parse_meta
from app.ingest.adapters.telegram import parse_telegram
from app.ingest.adapters.whatsapp import parse_whatsapp
from app.ingest.adapters.x import parse_x
from app.ingest.standard import FormatError, ParsedItem, parse_standard_body
from app.kernel.json_input import nul_field
from tests.ingest.platform_support import SAMPLES

# A fixed budget keeps the suite fast; WEBCARE_FUZZ_EXAMPLES raises it for a longer local hunt.
FUZZ = settings(max_examples=int(os.environ.get("WEBCARE_FUZZ_EXAMPLES", "250")), deadline=None,
                suppress_health_check=[HealthCheck.too_slow])

ADAPTERS: dict[str, tuple[Callable[[bytes], Parsed], list[str]]] = {
    "meta": (parse_meta, ["meta_page_feed_post.json", "meta_page_feed_comment.json", "instagram_comment.json",
                          "instagram_mention_comment.json", "messenger_message.json",
                          "facebook_page_rating_review.json"]),
    "whatsapp": (parse_whatsapp, ["whatsapp_message.json", "whatsapp_message_ctwa_referral.json"]),
    "x": (lambda body: parse_x(body, include_retweets=True),
          ["x_tweet_create_events.json", "x_direct_message_events.json"]),
    "telegram": (parse_telegram, ["telegram_edited_message.json", "telegram_message_reply.json",
                                  "telegram_forwarded_channel_message.json", "telegram_channel_post.CONSTRUCTED.json"]),
}

scalars = (st.none() | st.booleans() | st.integers() | st.integers(min_value=-2**70, max_value=2**70)
           | st.floats(allow_nan=False) | st.text(max_size=30) | st.sampled_from(["", "0", "-1", "../x", "\x00"]))
json_values = st.recursive(scalars, lambda inner: st.lists(inner, max_size=4)
                           | st.dictionaries(st.text(max_size=12), inner, max_size=5), max_leaves=20)


@st.composite
def mutated(draw: st.DrawFn, document: Any) -> Any:
    """A copy of `document` with a few of its values (found by walking it) replaced by arbitrary JSON."""
    document = json.loads(json.dumps(document))
    for _ in range(draw(st.integers(1, 4))):
        paths: list[tuple[Any, Any]] = []
        stack = [document]
        while stack:
            node = stack.pop()
            children = list(node.items()) if isinstance(node, dict) else list(enumerate(node)) \
                if isinstance(node, list) else []
            for key, child in children:
                paths.append((node, key))
                stack.append(child)
        if not paths:
            return draw(json_values)
        parent, key = draw(st.sampled_from(paths))
        parent[key] = draw(json_values | st.sampled_from([{}, [], "", None]))
    return document


def check_adapter_result(parsed: Parsed) -> None:
    assert isinstance(parsed, Parsed)
    assert all(isinstance(f, str) for f in parsed.failures)
    for item in parsed.items:
        assert isinstance(item, ParsedItem | EditedItem | RemovedItem | IgnoredItem)
        if isinstance(item, ParsedItem | EditedItem):
            assert isinstance(item.mention.text, str) and item.mention.external_id
            assert nul_field(item.raw) is None and "\x00" not in item.mention.text
        if isinstance(item, RemovedItem):
            assert isinstance(item.external_id, str) and item.external_id


def run_adapter(parse: Callable[[bytes], Parsed], body: bytes) -> None:
    try:
        parsed = parse(body)
    except AdapterError:
        return
    check_adapter_result(parsed)


@pytest.mark.parametrize("kind", ADAPTERS)
@FUZZ
@given(body=st.binary(max_size=300))
def test_adapters_take_arbitrary_bytes(kind: str, body: bytes) -> None:
    run_adapter(ADAPTERS[kind][0], body)


@pytest.mark.parametrize("kind", ADAPTERS)
@FUZZ
@given(document=json_values)
def test_adapters_take_arbitrary_json(kind: str, document: Any) -> None:
    run_adapter(ADAPTERS[kind][0], json.dumps(document).encode())


@pytest.mark.parametrize("kind", ADAPTERS)
@FUZZ
@given(data=st.data())
def test_adapters_take_mutated_samples(kind: str, data: st.DataObject) -> None:
    parse, samples = ADAPTERS[kind]
    document = json.loads((SAMPLES / data.draw(st.sampled_from(samples), label="sample")).read_bytes())
    run_adapter(parse, json.dumps(data.draw(mutated(document), label="mutated")).encode())


def run_standard(body: bytes) -> None:
    try:
        items = parse_standard_body(body)
    except FormatError as exc:
        assert exc.errors and all(isinstance(e["field"], str) and e["message"] for e in exc.errors)
        return
    for item in items:
        assert isinstance(item, ParsedItem) and nul_field(item.raw) is None
        assert "\x00" not in item.mention.text and "\x00" not in item.mention.external_id


@FUZZ
@given(body=st.binary(max_size=300) | json_values.map(lambda v: json.dumps(v).encode()))
def test_standard_parser_takes_arbitrary_bytes_and_json(body: bytes) -> None:
    run_standard(body)


VALID_MENTION = {"id": "m-1", "channel": "x", "text": "Al 3 uur STORING", "created_at": "2026-03-02T09:15:00Z",
                 "url": "https://x.com/jan/status/1", "language": "nl", "is_private": False,
                 "author": {"id": "42", "handle": "@jan", "name": "Jan", "followers": 10, "verified": False},
                 "conversation_id": "c-1", "in_reply_to": "m-0", "extra": {"k": "v"}}


@FUZZ
@given(data=st.data(), batch=st.booleans())
def test_standard_parser_takes_mutated_mentions(data: st.DataObject, batch: bool) -> None:
    document: Any = {"mentions": [VALID_MENTION, {**VALID_MENTION, "id": "m-2"}]} if batch else VALID_MENTION
    run_standard(json.dumps(data.draw(mutated(document), label="mutated")).encode())
