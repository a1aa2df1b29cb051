"""Bulk work from the queue: one action on many selected cases, each case on its own.

Guarantees: every case is changed in its own transaction under its own case lock
(`app.cases.locking`), exactly as the single action from the case page would change it; a case the
action is refused for (its status forbids it, it is unknown, the caller may not) is reported with
the reason and changes nothing, and the other cases proceed. The selection is capped at
`MAX_BULK` cases and never acts twice on one case.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy.orm import Session

from app.auth.service import Principal
from app.cases.actions import ActionRequest, perform_action
from app.cases.locking import lock_visible_case
from app.kernel.refs import parse_ref
from app.rules import RuleSet
from app.web.problems import DomainError, Problem, problem_of

BULK_ACTIONS = ("claim", "assign", "handoff", "tag", "priority", "resolve", "close")
MAX_BULK = 100


@dataclass(frozen=True)
class BulkResult:
    """What became of one selected case: `done`, or refused with `reason`."""

    ref: str
    done: bool
    reason: str | None = None


def selected_refs(values: Iterable[object]) -> list[str]:
    """The distinct case refs among the submitted `ref` values, in the order given, upper-cased;
    anything that is not a case ref is dropped. Raises ValueError past `MAX_BULK`."""
    refs = list(dict.fromkeys(v.strip().upper() for v in values if isinstance(v, str) and parse_ref(v.strip())))
    if len(refs) > MAX_BULK:
        raise ValueError(f"at most {MAX_BULK} cases at once")
    return refs


def act_on_one(session: Session, ref: str, action: str, params: dict[str, object], *, principal: Principal,
               ruleset: RuleSet, now: datetime) -> BulkResult:
    """`action` on the case `ref` in the caller's transaction, under its case lock; a refusal is
    returned (its changes rolled back to the savepoint), never raised."""
    case = lock_visible_case(session, principal, ref)
    if case is None:
        return BulkResult(ref, False, f"there is no case {ref}")
    try:
        with session.begin_nested():
            perform_action(session, case, ActionRequest(action, dict(params)), principal=principal,
                           ruleset=ruleset, now=now)
    except DomainError as exc:
        return BulkResult(case.ref, False, problem_text(problem_of(exc)))
    return BulkResult(case.ref, True)


def problem_text(problem: Problem) -> str:
    """A refusal as one line for a person: the invalid fields with their messages, else the detail."""
    errors = problem.extra.get("errors") or []
    return "; ".join(f"{e['field']}: {e['message']}" for e in errors) or str(problem.detail or problem.title)
