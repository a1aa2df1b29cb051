"""What the case page shows, gathered in one place for the page and for its live updates."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from app.auth.models import User
from app.auth.service import Principal
from app.cases.changes import case_state
from app.cases.lifecycle import allowed_actions
from app.cases.models import Case, CaseEvent
from app.cases.queries import case_thread
from app.cases.schemas import SuggestDepartment, SuggestedDepartmentOut, case_detail_out
from app.delivery.models import Delivery
from app.kernel.clock import utc_now
from app.kernel.refs import format_ref
from app.mentions.stored import StoredMention
from app.replies.models import PlatformReply
from app.replies.service import why_cannot_send
from app.rules import RuleSet
from app.sla.timers import timers_of
from app.ui.highlight import Segment, highlight, matched_words
from app.ui.thread import ReplyState, ThreadItem, build_thread, channel_icon
from app.ui.timers import TimerView, nearest_timer, timer_views

EARLIER_LIMIT = 10
HIDDEN_EVENT_DATA = frozenset({"decision", "actor", "action", "reply_id"})
DEPARTMENT_DATA = frozenset({"from", "to", "department", "departments"})  # shown by name, never by id


@dataclass(frozen=True)
class DepartmentView:
    id: str
    name: str


def departments_of(ruleset: RuleSet) -> list[DepartmentView]:
    return [DepartmentView(d.id, d.name) for d in ruleset.departments.values()]


def accounts_of(ruleset: RuleSet, seen: Iterable[str]) -> list[DepartmentView]:
    """Our accounts as a filter menu lists them: those connectors.yaml names, in its order, then any
    other account id the queue holds (shown by id)."""
    names = {account: name for c in ruleset.connectors.values() for account, name in c.accounts.items()}
    ids = dict.fromkeys([*names, *sorted(set(seen) - set(names))])
    return [DepartmentView(account, names.get(account, account)) for account in ids]


def safe_url(url: object) -> str | None:
    """`url` when it is an http(s) URL, else None: payload URLs never become `javascript:` links."""
    if isinstance(url, str) and url.lower().startswith(("https://", "http://")):
        return url
    return None


@dataclass
class CaseView:
    """Everything the case page renders."""

    case: Case
    ref: str
    mentions: list[StoredMention]
    events: list[CaseEvent]
    deliveries: list[Delivery]
    earlier: list[Case]
    highlight: list[Segment]
    matched_words: list[tuple[str, list[str]]]
    routing: Any
    timers: list[TimerView]
    nearest: TimerView | None
    sla_history: list[dict[str, Any]]
    allowed: list[str]
    departments: list[DepartmentView]
    department_name: str
    triage: str
    assignee: str | None
    assignable: list[str]
    linked: str | None
    merged_into: str | None
    followers: str
    thread: list[ThreadItem]
    send_refusal: str | None  # why this case's connector cannot post replies (None: it can)
    department_names: dict[str, str]
    suggestion: SuggestedDepartmentOut | None = None
    suggestion_name: str | None = None

    @property
    def channel_icon(self) -> str:
        return channel_icon(self.case.channel)

    def department(self, department_id: str | None) -> str:
        """A department's name (an id the rules no longer know stays as it is)."""
        return self.department_names.get(department_id or "", department_id or "—")

    @staticmethod
    def safe_url(url: object) -> str | None:
        return safe_url(url)

    @staticmethod
    def attachment_links(mention: StoredMention) -> list[dict[str, str | None]]:
        links = []
        for item in mention.attachments or []:
            if isinstance(item, dict):
                links.append({"type": str(item.get("type") or "file"), "url": safe_url(item.get("url")),
                              "name": str(item.get("id") or "") or None})
        return links

    def event_details(self, event: CaseEvent) -> list[tuple[str, str]]:
        """The event's data worth showing, as (field, text) pairs, departments by name; the full
        routing decision is shown in its own section."""
        details: list[tuple[str, str]] = []
        for key, value in (event.data or {}).items():
            if key in HIDDEN_EVENT_DATA or value is None or value == "":
                continue
            if key in DEPARTMENT_DATA:
                value = [self.department(str(v)) for v in value] if isinstance(value, list) \
                    else self.department(str(value))
            if isinstance(value, list):
                value = ", ".join(str(v) for v in value)
            elif isinstance(value, bool):
                value = "✓" if value else "—"
            details.append((key, str(value)))
        return details


def build_case_view(session: Session, case: Case, *, principal: Principal, ruleset: RuleSet,
                    now: datetime | None = None, suggest: SuggestDepartment | None = None) -> CaseView:
    """The case page's content for `principal` (a user); with `suggest`, the suggested department."""
    now = now or utc_now()
    mentions, events = case_thread(session, case)
    detail = case_detail_out(case, mentions, events, timers_of(session, [case.id]).get(case.id, []), now,
                             suggest=suggest, session=session)
    suggested = detail.suggested_department
    suggested_name = ruleset.departments[suggested.department].name \
        if suggested is not None and suggested.department in ruleset.departments else None
    first_text = mentions[0].text if mentions else ""
    spans = [(s.start, s.end, s.rule_id) for s in detail.routing.spans]
    state = case_state(case, ruleset.triage_department)
    timers = timer_views({k: v.model_dump() for k, v in detail.sla.items()}, now=now)
    department = ruleset.departments.get(case.department)
    followers = case.author.get("followers")
    names = {d.id: d.name for d in ruleset.departments.values()}
    replies = {r.id: ReplyState(r.status, r.last_error)
               for r in session.scalars(select(PlatformReply).where(PlatformReply.case_id == case.id))}
    return CaseView(
        case=case, ref=case.ref, mentions=mentions, events=events,
        thread=build_thread(mentions, events, replies=replies, department_names=names,
                            unknown_author=str(case.author.get("handle") or case.author.get("name") or "?")),
        send_refusal=why_cannot_send(ruleset, case.connector), department_names=names,
        deliveries=list(session.scalars(select(Delivery).where(Delivery.case_id == case.id).order_by(Delivery.id))),
        earlier=_earlier_cases(session, case), highlight=highlight(first_text, spans),
        matched_words=matched_words(first_text, spans), routing=detail.routing, timers=timers,
        nearest=nearest_timer(timers), sla_history=[h.model_dump() for h in detail.sla_history],
        allowed=allowed_actions(state, "agent"), departments=departments_of(ruleset),
        department_name=department.name if department else case.department, triage=ruleset.triage_department,
        assignee=case.assignee.username if case.assignee else None,
        assignable=assignable_users(session, principal),
        linked=format_ref(case.linked_case_id) if case.linked_case_id else None,
        merged_into=format_ref(case.merged_into_id) if case.merged_into_id else None,
        followers=f"{followers:,}".replace(",", "\u202f") if isinstance(followers, int) else "—",
        suggestion=suggested, suggestion_name=suggested_name or (suggested.department if suggested else None),
    )


def _earlier_cases(session: Session, case: Case) -> list[Case]:
    """Other cases of the same author on the same channel, newest first (uses ix_cases_author)."""
    if not case.author_key:
        return []
    return list(session.scalars(
        select(Case).where(Case.channel == case.channel, Case.author_key == case.author_key, Case.id != case.id)
        .order_by(Case.last_mention_at.desc()).limit(EARLIER_LIMIT)))


def assignable_users(session: Session, principal: Principal) -> list[str]:
    """Leads assign to any active user; agents only to themselves (SPEC §2)."""
    if principal.has_role("lead"):
        return list(session.scalars(select(User.username).where(User.active.is_(True)).order_by(User.username)))
    return [principal.name]
