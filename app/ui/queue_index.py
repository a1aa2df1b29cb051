"""The process's in-memory index of the not-closed cases: what the queue page filters, orders,
counts and searches, without asking the database to regroup 20,000 rows on every page load.

Why in memory: the queue is the few percent of cases that are not closed, so it stays small however
long the history grows, while its rows lie scattered over a large table. Reading them for each page
(ids, per-filter counts, a substring search over every mention) cost 60-500 ms on PostgreSQL with a
million cases; walking a list of 20,000 small tuples costs a few milliseconds.

How it stays true: every change the queue shows (status, owner, assignee, priority, SLA state and
deadline, a new or edited mention) appends a row to `case_events` in the same transaction (the
same invariant the live stream relies on). Before each read, `sync` reads the case ids of the events
written since it last looked (one indexed `max(id)` when nothing changed) and re-reads just those
cases, in the reading request's own transaction, so a user sees their own change on the next page.
PostgreSQL may commit a lower event id after a higher one; those late commits arrive through the
live broadcaster's LISTEN (`listen`), and a lost LISTEN connection makes the next read reload all.

Guarantee: for the filters it serves (statuses within the not-closed ones), `view` gives the same
cases, in the same order, and the same total as the SQL conditions of `app.ui.queue` would, and
rows equal to those `app.ui.rows.queue_rows` builds from the database (tests/ui/test_queue_index.py
checks each filter against them); its counts always cover the not-closed cases, as the page's
filter menus show them.
"""

from __future__ import annotations

import bisect
import logging
import operator
import threading
import time
from collections import Counter
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from itertools import compress, repeat
from operator import attrgetter
from typing import Any, NamedTuple

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from app.auth.models import User
from app.cases.models import Case, CaseEvent, CaseTag
from app.cases.queries import VALUE_FILTERS
from app.db import transaction
from app.kernel.refs import parse_ref
from app.kernel.vocabulary import ACTIVE_STATUSES, NOT_CLOSED
from app.mentions.stored import StoredMention
from app.sla.models import SlaTimer
from app.ui.queue import SLA_STATES, QueueCounts, QueueFilter, sort_text

log = logging.getLogger(__name__)
CHUNK = 1000  # ids per IN list
RELOAD_ABOVE = 5000  # more changed cases than this at once: reload everything instead
_FAR = datetime.max.replace(tzinfo=None)
NOT_CLOSED_SET = frozenset(NOT_CLOSED)
_LATEST_EVENT = select(func.max(CaseEvent.id))


class Timer(NamedTuple):
    """The latest segment of one SLA timer kind, as a queue row shows it."""

    kind: str
    state: str
    due_at: datetime | None
    department: str


class Entry(NamedTuple):
    """One not-closed case as the queue filters, orders, counts and shows it. `text` is the lowered
    search text: every mention's text, author handle and name, NUL-separated so a match never spans
    two; `first_text` is the first mention's text as written; `account` is our own account the case
    reached (`account_name` its display name)."""

    key: tuple[bool, datetime, str, datetime, int]
    id: int
    status: str
    department: str
    channel: str
    priority: str
    sla_state: str | None
    assignee_id: int | None
    text: str
    sort_text: str
    author: str
    first_text: str
    tags: tuple[str, ...]
    assignee: str | None
    timers: tuple[Timer, ...]
    account: str | None
    account_name: str | None
    facet: int  # `facet_id` of (status, department, channel, priority, sla_state, account): counted as one int
    active_assignee: int | None  # the assignee id while the case is active, else NOT_ACTIVE
    created_at: datetime  # received
    last_mention_at: datetime  # the customer's latest message (unread markers compare with it)
    updated_at: datetime  # the last activity of any kind


def sort_key(case_id: int, due_at: datetime | None, priority: str, created_at: datetime
             ) -> tuple[bool, datetime, str, datetime, int]:
    """`app.ui.queue.queue_order` as a tuple: nearest deadline first (none last), priority, age, id."""
    due = due_at.replace(tzinfo=None) if due_at is not None else _FAR
    return (due_at is None, due, priority, created_at.replace(tzinfo=None), case_id)


_STATUS, _SLA, _ASSIGNEE, _TEXT = attrgetter("status"), attrgetter("sla_state"), attrgetter("assignee_id"), \
    attrgetter("text")
_FACET, _ACTIVE_ASSIGNEE, _ACCOUNT = attrgetter("facet"), attrgetter("active_assignee"), attrgetter("account")
_ID, _KEY = attrgetter("id"), attrgetter("key")


# The status selections kept ready in every snapshot: the default (active) queue and each status.
KEPT_SELECTIONS = (frozenset(ACTIVE_STATUSES), *(frozenset((status,)) for status in NOT_CLOSED))


@dataclass(frozen=True)
class _Snapshot:
    """What readers use: replaced whole on every change and never changed after (but for the cache
    of rarer status selections, filled as they are asked for), so reading needs no lock.

    `ordered` holds every entry in queue order, `selections` the entries of each of
    `KEPT_SELECTIONS` in the same order, `facets` and `assignees` the active entries counted by
    facet and by assignee. A change makes the next snapshot from this one by removing and
    inserting the changed entries only (a binary search and a memmove each), so a change costs
    about the same whether the queue holds 200 cases or 20,000."""

    ordered: list[Entry]
    by_id: dict[int, Entry]
    selections: dict[frozenset[str], list[Entry]]
    facets: Counter[int]
    assignees: Counter[int | None]
    others: dict[frozenset[str], list[Entry]] = field(default_factory=dict)

    @classmethod
    def build(cls, ordered: list[Entry]) -> _Snapshot:
        return cls(ordered, {e.id: e for e in ordered},
                   {statuses: _keep(ordered, _STATUS, statuses.__contains__) for statuses in KEPT_SELECTIONS},
                   Counter(map(_FACET, ordered)), _active_assignees(ordered))

    def changed(self, old: list[Entry], new: list[Entry]) -> _Snapshot:
        """This snapshot with the entries `old` replaced by `new` (either may be empty)."""
        ordered = _replaced(self.ordered, old, new)
        selections = {statuses: _replaced(entries, [e for e in old if e.status in statuses],
                                          [e for e in new if e.status in statuses])
                      for statuses, entries in self.selections.items()}
        by_id = self.by_id.copy()
        for e in old:
            del by_id[e.id]
        by_id.update((e.id, e) for e in new)
        facets, assignees = self.facets.copy(), self.assignees.copy()
        facets.subtract(map(_FACET, old))
        facets.update(map(_FACET, new))
        assignees.subtract(_active_assignees(old))
        assignees.update(_active_assignees(new))
        return _Snapshot(ordered, by_id, selections, +facets, +assignees)

    def with_statuses(self, statuses: frozenset[str]) -> list[Entry]:
        """The entries in `statuses`, in queue order."""
        if statuses >= NOT_CLOSED_SET:
            return self.ordered
        if statuses in self.selections:
            return self.selections[statuses]
        if statuses not in self.others:
            self.others[statuses] = _keep(self.ordered, _STATUS, statuses.__contains__)
        return self.others[statuses]


def _replaced(entries: list[Entry], old: list[Entry], new: list[Entry]) -> list[Entry]:
    """A copy of `entries` (in queue order) without `old` and with `new`, still in queue order."""
    if not old and not new:
        return entries
    result = entries.copy()
    for entry in old:
        position = bisect.bisect_left(result, entry.key, key=_KEY)
        if position < len(result) and result[position].id == entry.id:
            del result[position]
    for entry in new:
        bisect.insort(result, entry, key=_KEY)
    return result


def _active_assignees(entries: Iterable[Entry]) -> Counter[int | None]:
    found = Counter(map(_ACTIVE_ASSIGNEE, entries))
    del found[NOT_ACTIVE]
    return found


def _keep(entries: Sequence[Entry], column: Callable[[Entry], Any], test: Callable[..., bool],
          *args: Iterable[Any]) -> list[Entry]:
    """The entries for which `test(column(entry), *next(args))` holds, in order. Built from map and
    compress, the loop runs in C: about five times faster than a comprehension here, which is
    what keeps a page over 20,000 entries within a few milliseconds."""
    return list(compress(entries, map(test, map(column, entries), *args)))


def select_entries(entries: Sequence[Entry], f: QueueFilter, user_id: int | None) -> Sequence[Entry]:
    """Of `entries` (already those in the statuses `f` shows: `_Snapshot.with_statuses`), the ones
    that meet the other queue conditions of `f` (`app.ui.queue.queue_conditions`, which are
    `app.cases.queries.case_conditions`), in their order."""
    for name in VALUE_FILTERS:
        if chosen := getattr(f, name):
            entries = _keep(entries, attrgetter(name), frozenset(chosen).__contains__)
    if f.assignee == "none":
        entries = _keep(entries, _ASSIGNEE, operator.is_, repeat(None))
    elif f.assignee == "me":
        entries = _keep(entries, _ASSIGNEE, operator.eq, repeat(user_id)) if user_id is not None else []
    if f.sla:
        entries = _keep(entries, _SLA, operator.eq, repeat(f.sla))
    if f.q:
        needle, ref_id = f.q.lower(), parse_ref(f.q)
        if ref_id is None:
            entries = _keep(entries, _TEXT, operator.contains, repeat(needle))
        else:  # a case ref: that case, or the (rare) texts that quote it
            entries = [e for e in entries if e.id == ref_id or needle in e.text]
    return entries


def count_entries(entries: Sequence[Entry], user_id: int | None) -> QueueCounts:
    """Per-filter counts over `entries`: statuses over all of them, the rest over the active ones."""
    return counts_of_facets(Counter(map(_FACET, entries))).for_user(_active_assignees(entries), user_id)


def counts_of_facets(facets: Counter[int]) -> QueueCounts:
    """The counts that are the same for every user, added up from the entries counted by facet
    (a C loop over small ints: building and hashing a tuple per entry cost five times more here)."""
    counts = QueueCounts()
    for facet, n in facets.items():
        status, department, channel, priority, sla_state, account = _FACETS[facet]
        counts.status[status] += n
        if status in ACTIVE_STATUSES:
            counts.active += n
            counts.department[department] += n
            counts.channel[channel] += n
            counts.priority[priority] += n
            if account is not None:
                counts.account[account] += n
            if sla_state in SLA_STATES:
                counts.sla[sla_state] += n
    return counts


Facet = tuple[str, str, str, str, str | None, str | None]


def facet_id(facet: Facet) -> int:
    """A small int standing for `facet`, the same for the life of the process."""
    found = _FACET_IDS.get(facet)
    if found is None:
        with _FACET_LOCK:
            found = _FACET_IDS.setdefault(facet, len(_FACETS))
            if found == len(_FACETS):
                _FACETS.append(facet)
    return found


_FACET_IDS: dict[Facet, int] = {}
_FACETS: list[Facet] = []
_FACET_LOCK = threading.Lock()
NOT_ACTIVE = -1  # no user has this id


class IndexView(NamedTuple):
    entries: list[Entry] | None
    total: int | None
    counts: QueueCounts


class QueueIndex:
    """See the module docstring. One per process (`queue_index_for`); safe to use from many threads."""

    def __init__(self) -> None:
        self._lock = threading.Lock()  # one sync at a time
        self._inbox_lock = threading.Lock()  # guards `_pending` and `_reset_at`
        self._listening = threading.Event()
        self._snapshot = _Snapshot.build([])
        self._loaded = False
        self._watermark = 0  # the highest case event id read
        self._pending: set[int] = set()  # case ids announced by the broadcaster, not yet re-read
        self._reset_at = 0.0  # when the broadcaster last said anything may have changed
        self._loaded_at = 0.0  # when the last full load started
        # The counts without a search, for the snapshot they were made from (any user's derive from them).
        self._base_counts: tuple[_Snapshot, QueueCounts] | None = None

    # -- fed by the broadcaster (its own thread) ------------------------------------------------

    def listen(self, ids: frozenset[int] | None) -> None:
        """Committed changes announced by the live broadcaster; None: anything may have changed.
        Never waits for a sync in progress (a lock of its own)."""
        with self._inbox_lock:
            if ids is None:
                self._reset_at = time.monotonic()
                self._listening.set()
            else:
                self._pending |= ids

    def wait_until_listening(self, timeout: float) -> bool:
        """Wait until the broadcaster has announced it listens (it does so, as None, on connecting).
        Loading after that spares the reload its announcement would otherwise cause."""
        return self._listening.wait(timeout)

    # -- reading ------------------------------------------------------------------------------

    def view(self, session: Session, user_id: int | None, f: QueueFilter, *, limit: int) -> IndexView:
        """The queue `f` for the user `user_id`: its first `limit` entries in queue order and its
        total (both None when `f` shows closed cases: those are not indexed, ask the database),
        and the per-filter counts of the not-closed cases, narrowed by `f.q` when it searches."""
        snapshot = self.sync(session)
        # A search scans the text of every not-closed case once; the counts and the page share it.
        searched = select_entries(snapshot.ordered, QueueFilter(q=f.q), user_id) if f.q else None
        counts = self._counts(snapshot, user_id) if searched is None else count_entries(searched, user_id)
        statuses = f.statuses
        if statuses is None or not set(statuses) <= NOT_CLOSED_SET:
            return IndexView(None, None, counts)
        wanted = frozenset(statuses)
        pool = snapshot.with_statuses(wanted) if searched is None else _keep(searched, _STATUS, wanted.__contains__)
        selected = select_entries(pool, f.with_(q=None), user_id)
        return IndexView(list(selected[:limit]), len(selected), counts)

    def _counts(self, snapshot: _Snapshot, user_id: int | None) -> QueueCounts:
        base = self._base_counts
        if base is None or base[0] is not snapshot:
            base = (snapshot, counts_of_facets(snapshot.facets))
            with self._lock:
                if self._snapshot is snapshot:  # not replaced meanwhile: the counts still hold
                    self._base_counts = base
        return base[1].for_user(snapshot.assignees, user_id)

    def sync(self, session: Session) -> _Snapshot:
        """Bring the index up to date with what `session` can see; returns the current snapshot.
        If reading fails, nothing is marked as read: the next sync tries the same changes again."""
        with self._lock:
            with self._inbox_lock:
                reload = not self._loaded or self._reset_at > self._loaded_at
                announced, self._pending = self._pending, set()
            try:
                if reload:
                    self._load(session)
                    return self._snapshot
                top = session.execute(_LATEST_EVENT).scalar() or 0
                changed = set(announced)
                if top > self._watermark:
                    changed.update(session.scalars(select(CaseEvent.case_id).distinct().where(
                        CaseEvent.id > self._watermark, CaseEvent.id <= top)))
                if len(changed) > RELOAD_ABOVE:
                    self._load(session)
                elif changed:
                    self._refresh(session, changed)
                self._watermark = max(self._watermark, top)
            except BaseException:
                with self._inbox_lock:
                    self._pending |= announced
                raise
            return self._snapshot

    # -- writing (under the lock) ---------------------------------------------------------------

    def _load(self, session: Session) -> None:
        started = time.monotonic()
        # The watermark first: whatever commits after it is read again by the next sync.
        watermark = session.execute(_LATEST_EVENT).scalar() or 0
        entries = _read_entries(session, None)
        self._publish(_Snapshot.build(sorted(entries, key=_KEY)))
        self._watermark, self._loaded_at, self._loaded = watermark, started, True

    def _refresh(self, session: Session, case_ids: set[int]) -> None:
        old = [self._snapshot.by_id[i] for i in case_ids if i in self._snapshot.by_id]
        self._publish(self._snapshot.changed(old, _read_entries(session, case_ids)))

    def _publish(self, snapshot: _Snapshot) -> None:
        self._snapshot = snapshot
        self._base_counts = None


def _read_entries(session: Session, case_ids: set[int] | None) -> list[Entry]:
    """The entries of the not-closed cases among `case_ids` (None: all of them): four queries,
    each over the ids in chunks (cases with their assignee, mentions, tags, timers)."""
    not_closed = Case.status.in_(NOT_CLOSED)
    columns = (Case.id, Case.status, Case.department, Case.channel, Case.priority, Case.sla_state,
               Case.assignee_id, Case.due_at, Case.created_at, Case.author, Case.account, Case.account_name,
               Case.last_mention_at, Case.updated_at, User.username)
    base = select(*columns).outerjoin(User, User.id == Case.assignee_id).where(not_closed)
    if case_ids is None:
        rows = list(session.execute(base))
    else:
        rows = [row for chunk in _chunks(case_ids) for row in session.execute(base.where(Case.id.in_(chunk)))]
    ids = [row.id for row in rows]
    texts: dict[int, list[str]] = {}
    firsts: dict[int, str] = {}
    tags: dict[int, list[str]] = {}
    latest: dict[int, dict[str, Any]] = {}
    for chunk in _chunks(ids):
        mentions = (select(StoredMention.case_id, StoredMention.text, StoredMention.author_handle,
                           StoredMention.author_name)
                    .where(StoredMention.case_id.in_(chunk)).order_by(StoredMention.case_id, StoredMention.id))
        for case_id, text, handle, name in session.execute(mentions):
            firsts.setdefault(case_id, text)
            texts.setdefault(case_id, []).extend(part.lower() for part in (text, handle, name) if part)
        for case_id, tag in session.execute(select(CaseTag.case_id, CaseTag.tag).where(CaseTag.case_id.in_(chunk))
                                            .order_by(CaseTag.case_id, CaseTag.tag)):
            tags.setdefault(case_id, []).append(tag)
        # The latest segment of each kind, as `current_timers` picks it for the case JSON.
        for timer in session.execute(
                select(SlaTimer.case_id, SlaTimer.kind, SlaTimer.state, SlaTimer.due_at, SlaTimer.department)
                .where(SlaTimer.case_id.in_(chunk)).order_by(SlaTimer.started_at, SlaTimer.id)):
            latest.setdefault(timer.case_id, {})[timer.kind] = timer
    entries = []
    for row in rows:
        author = row.author if isinstance(row.author, dict) else {}
        timers = tuple(Timer(t.kind, t.state, t.due_at, t.department) for t in latest.get(row.id, {}).values())
        entries.append(Entry(
            sort_key(row.id, row.due_at, row.priority, row.created_at), row.id, row.status, row.department,
            row.channel, row.priority, row.sla_state, row.assignee_id, "\0".join(texts.get(row.id, ())),
            sort_text(row.due_at, row.priority, row.created_at, row.id),
            str(author.get("handle") or author.get("name") or "—"), firsts.get(row.id, ""),
            tuple(tags.get(row.id, ())), row.username, timers, row.account, row.account_name,
            facet_id((row.status, row.department, row.channel, row.priority, row.sla_state, row.account)),
            row.assignee_id if row.status in ACTIVE_STATUSES else NOT_ACTIVE, row.created_at,
            row.last_mention_at, row.updated_at))
    return entries


def _chunks(ids: Iterable[int]) -> list[list[int]]:
    ordered = sorted(ids)
    return [ordered[start:start + CHUNK] for start in range(0, len(ordered), CHUNK)]


_index_lock = threading.Lock()


def queue_index_for(app_state: object) -> QueueIndex:
    """The app's queue index, made on first use; on PostgreSQL it also listens to the broadcaster."""
    with _index_lock:
        index = getattr(app_state, "queue_index", None)
        if index is None:
            index = QueueIndex()
            app_state.queue_index = index  # type: ignore[attr-defined]
            engine = app_state.engine  # type: ignore[attr-defined]
            if engine.dialect.name == "postgresql":
                from app.ui.live import broadcaster_for

                broadcaster_for(app_state).add_listener(index.listen)
    return index


def warm_queue_index(app_state: object) -> None:
    """Load the app's queue index now (`webcare serve` calls it on a thread of its own at start);
    a failure is logged and the first page load tries again."""
    try:
        index = queue_index_for(app_state)
        if app_state.engine.dialect.name == "postgresql":  # type: ignore[attr-defined]
            index.wait_until_listening(timeout=5.0)
        with transaction(app_state.sessions) as session:  # type: ignore[attr-defined]
            index.sync(session)
    except Exception:
        log.warning("loading the queue index at start failed; the first queue page will load it", exc_info=True)
