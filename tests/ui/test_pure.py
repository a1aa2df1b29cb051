"""Pure parts of the UI: highlighting, countdowns, the texts, the queue's URL filters."""

from __future__ import annotations

from datetime import UTC, datetime

from app.kernel.vocabulary import ACTIVE_STATUSES
from app.ui.highlight import Segment, highlight, matched_words
from app.ui.i18n import AMSTERDAM, translator
from app.ui.queue import QueueFilter
from app.ui.texts_en import EN
from app.ui.texts_nl import NL
from app.ui.timers import format_left, nearest_timer, timer_views


def test_highlight_cuts_at_code_points_and_merges_overlaps() -> None:
    text = "🙈 storing, geen internet"
    spans = [(2, 9, "outage"), (11, 25, "outage"), (16, 25, "internet")]
    segments = highlight(text, spans)
    assert "".join(s.text for s in segments) == text
    assert segments == [Segment("🙈 "), Segment("storing", ("outage",)), Segment(", "),
                        Segment("geen ", ("outage",)), Segment("internet", ("internet", "outage"))]
    assert highlight("abc", [(2, 99, "r"), (-3, 1, "q")]) == [Segment("a", ("q",)), Segment("b"),
                                                                 Segment("c", ("r",))]
    assert matched_words(text, spans) == [("storing", ["outage"]), ("geen internet", ["outage"]),
                                          ("internet", ["internet"])]


def test_countdowns_and_the_nearest_running_timer() -> None:
    assert [format_left(s) for s in (0, 59, 61, 3600 + 5 * 60, 2 * 86400 + 3 * 3600, -125)] == \
        ["0m 00s", "0m 59s", "1m 01s", "1h 05m", "2d 3h", "-2m 05s"]
    now = datetime(2026, 3, 1, 12, tzinfo=UTC)
    views = timer_views({
        "resolution": {"due_at": datetime(2026, 3, 2, tzinfo=UTC), "state": "running", "department": None},
        "first_response": {"due_at": datetime(2026, 3, 1, 11, tzinfo=UTC), "state": "met", "department": None},
        "department_ack": {"due_at": datetime(2026, 3, 1, 13, tzinfo=UTC), "state": "warned", "department": "billing"},
    }, now=now)
    assert [v.kind for v in views] == ["first_response", "department_ack", "resolution"]
    nearest = nearest_timer(views)
    assert nearest is not None and (nearest.kind, nearest.left) == ("department_ack", "1h 00m")


def test_both_languages_have_every_text_and_times_are_amsterdam() -> None:
    assert set(EN) == set(NL)
    winter, summer = datetime(2026, 1, 5, 12, tzinfo=UTC), datetime(2026, 7, 5, 12, tzinfo=UTC)
    assert translator("en").dt(winter) == "5 Jan 2026 13:00"
    assert translator("nl").dt(summer) == "5 jul 2026 14:00"
    assert AMSTERDAM.key == "Europe/Amsterdam"
    assert translator("nl")("queue.summary", shown=1, total=2) == "1 van 2 getoond"


def test_queue_filters_from_the_url() -> None:
    f = QueueFilter.from_params({"status": ["open", "bogus"], "department": ["billing", "nope"], "priority": ["P9"],
                                 "assignee": ["me"], "sla": ["breached"], "q": ["  storing   utrecht "]},
                                departments=["billing", "webcare"])
    assert (f.status, f.department, f.priority, f.assignee, f.sla, f.q) == \
        (("open",), ("billing",), (), "me", "breached", "storing utrecht")
    assert f.query_string() == "status=open&department=billing&assignee=me&sla=breached&q=storing+utrecht"
    assert QueueFilter().statuses == ACTIVE_STATUSES
    assert QueueFilter(q="x").statuses is None  # a search covers closed cases too
    assert QueueFilter(status=("all",)).statuses is None
