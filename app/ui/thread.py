"""The case's conversation as one thread (pure): the customer's mentions, the agents' replies with
their delivery state, department notes and acknowledgements, in the order they happened.

Guarantees: every mention and every `responded`, `note_added`, `acknowledged` and `info_requested`
timeline entry becomes exactly one item; items are ordered by time, ties kept in the order they
were written (mentions before events of the same instant); department ids never reach the page
(the caller's `department_names` turns them into names, an unknown id stays as it is).
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Protocol

THREAD_EVENTS = frozenset({"responded", "note_added", "acknowledged", "info_requested"})
# The platform reply's status as the thread shows it: still being sent counts as "sending".
REPLY_STATE = {"pending": "sending", "sending": "sending", "sent": "sent", "failed": "failed",
               "unconfirmed": "unconfirmed"}
CHANNEL_ICONS = {"x": "𝕏", "facebook": "f", "messenger": "m", "instagram": "◎", "whatsapp": "✆",
                 "telegram": "✈", "email": "✉", "webform": "✎"}
_WORD = re.compile(r"[^\W_]+", re.UNICODE)


class MentionLike(Protocol):
    id: int
    text: str
    channel: str
    author_handle: str | None
    author_name: str | None
    received_at: datetime


class EventLike(Protocol):
    id: int
    type: str
    actor_type: str
    actor: str | None
    at: datetime
    data: dict[str, Any]


@dataclass(frozen=True)
class ReplyState:
    """What became of one platform reply (`app.replies.models.PlatformReply`)."""

    status: str
    error: str | None = None


@dataclass(frozen=True)
class ThreadItem:
    """One message of the thread.

    `kind`: `customer` (a mention; `mention` is its index in the case's mentions), `reply` (an
    agent's answer), `note` (an agent's or a department's internal note), `ack` (a department
    acknowledged, `text` its reference), `question` (a department asked webcare for information).
    `side`: `in` (the customer), `out` (webcare), `dept` (a department system). `delivery` for a
    reply: `sent`, `sending`, `failed`, `unconfirmed`, `not_sendable` (the connector cannot post
    replies; `detail` says why) or `recorded` (the agent chose not to send it)."""

    kind: str
    side: str
    at: datetime
    author: str
    initials: str
    text: str
    mention: int | None = None
    delivery: str | None = None
    detail: str | None = None


def initials(name: str) -> str:
    """One or two capitals for an avatar: `Jan de Vries` -> `JV`, `@els` -> `E`, `` -> `?`."""
    words = _WORD.findall(name)
    if not words:
        return "?"
    picked = [words[0], words[-1]] if len(words) > 1 else words[:1]
    return "".join(w[0] for w in picked).upper()


def channel_icon(channel: str) -> str:
    """A one-character mark for `channel` (shown beside its name, never instead of it)."""
    return CHANNEL_ICONS.get(channel, "•")


def reply_delivery(data: Mapping[str, Any], replies: Mapping[int, ReplyState]) -> tuple[str, str | None]:
    """The delivery state of one `responded` entry and its detail (an error or a reason)."""
    if data.get("delivery") == "queued":
        reply = replies.get(int(data.get("reply_id") or 0))
        if reply is None:
            return "sending", None
        state = REPLY_STATE.get(reply.status, "sending")
        return state, reply.error if state in ("failed", "unconfirmed") else None
    if data.get("reason"):
        return "not_sendable", str(data["reason"])
    return "recorded", None


def build_thread(mentions: Iterable[MentionLike], events: Iterable[EventLike], *,
                 replies: Mapping[int, ReplyState], department_names: Mapping[str, str],
                 unknown_author: str) -> list[ThreadItem]:
    """The thread of one case, oldest first (see the module's guarantees)."""
    keyed: list[tuple[datetime, int, int, ThreadItem]] = []
    for index, m in enumerate(mentions):
        author = m.author_handle or m.author_name or unknown_author
        keyed.append((m.received_at, 0, m.id, ThreadItem("customer", "in", m.received_at, author,
                                                          initials(m.author_name or author), m.text,
                                                          mention=index)))
    for e in events:
        if e.type not in THREAD_EVENTS:
            continue
        item = _event_item(e, replies=replies, department_names=department_names)
        keyed.append((e.at, 1, e.id, item))
    keyed.sort(key=lambda k: (k[0], k[1], k[2]))
    return [k[3] for k in keyed]


def _event_item(e: EventLike, *, replies: Mapping[int, ReplyState],
                department_names: Mapping[str, str]) -> ThreadItem:
    data = e.data or {}
    by_department = e.actor_type == "department"
    author = department_names.get(e.actor or "", e.actor or "") if by_department else (e.actor or "")
    side = "dept" if by_department else "out"
    if e.type == "responded":
        delivery, detail = reply_delivery(data, replies)
        return ThreadItem("reply", side, e.at, author, initials(author), str(data.get("text") or ""),
                          delivery=delivery, detail=detail)
    if e.type == "acknowledged":
        return ThreadItem("ack", side, e.at, author, initials(author), str(data.get("external_ref") or ""))
    if e.type == "info_requested":
        return ThreadItem("question", side, e.at, author, initials(author), str(data.get("question") or ""))
    return ThreadItem("note", side, e.at, author, initials(author), str(data.get("text") or ""))
