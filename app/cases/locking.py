"""Loading a case for a change: the one way a case is read before it is changed.

Every change of a case (an action of an agent, a department or the UI, a mention joining it, a
reclassification, an SLA escalation step, a reply's outcome) decides on the state it loads here,
so two changes of one case at the same moment are applied one after the other, each on the state
the other left, and a transition the first one made impossible is refused (409) to the second.

- PostgreSQL: `SELECT ... FOR UPDATE OF cases`, held until the transaction ends; a waiting
  transaction then reads the row as the other committed it (READ COMMITTED re-reads the locked
  row), and the loaded object replaces whatever the session held (`populate_existing`).
- SQLite: every transaction of this service starts with `BEGIN IMMEDIATE` (`app.db.make_engine`),
  which takes the database's write lock before the first read, so a transaction that loads a case
  has the whole database to itself until it ends and can never read a state another writer is
  about to change. A version column was not needed: a deferred `BEGIN` would read stale state and
  then fail to upgrade its lock, which is exactly what `BEGIN IMMEDIATE` rules out.
"""

from __future__ import annotations

from collections.abc import Iterable

from sqlalchemy import select
from sqlalchemy.orm import Session

from app.auth.service import Principal
from app.cases.models import Case
from app.cases.queries import visible_cases
from app.kernel.refs import parse_ref


def lock_case(session: Session, case_id: int) -> Case | None:
    """The case with `case_id`, loaded fresh and locked against every other change until the
    transaction ends (None when there is no such case)."""
    return session.get(Case, case_id, with_for_update={"of": Case}, populate_existing=True)


def lock_existing_case(session: Session, case_id: int) -> Case:
    """`lock_case` for a case a foreign key points at (a mention's, a reply's): it always exists."""
    case = lock_case(session, case_id)
    if case is None:
        raise LookupError(f"case {case_id} is referenced but missing")
    return case


def lock_case_ids(session: Session, case_ids: Iterable[int], *, skip_locked: bool = False) -> set[int]:
    """Lock several cases as `lock_case` does, in id order (two transactions locking overlapping
    sets cannot deadlock); returns the ids locked. With `skip_locked`, cases another transaction
    holds are left out instead of waited for (a background sweep takes them on its next run). Load
    the locked cases afterwards: they cannot change until the transaction ends."""
    query = (select(Case.id).where(Case.id.in_(sorted(set(case_ids)))).order_by(Case.id)
             .with_for_update(of=Case, skip_locked=skip_locked))
    return set(session.scalars(query))


def lock_visible_case(session: Session, principal: Principal, ref: str) -> Case | None:
    """The case `ref` names, locked as `lock_case` does, if the principal may see it; else None
    (a 404 either way). Departments see the cases they own or have owned."""
    case_id = parse_ref(ref)
    if case_id is None:
        return None
    query = (select(Case).where(Case.id == case_id, visible_cases(principal)).with_for_update(of=Case)
             .execution_options(populate_existing=True))
    return session.scalar(query)
