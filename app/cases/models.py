"""Cases, their tags, their owners over time and their timeline."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import ForeignKey, Index, String
from sqlalchemy.orm import Mapped, mapped_column, relationship

from app.auth.models import User
from app.db import Base, JSONValue
from app.kernel.ids import ID
from app.kernel.refs import format_ref


class Case(Base):
    """One customer problem with exactly one owning department at a time (DESIGN "Case life cycle").

    The ref (`WC-000123`) is derived from `id` and not stored. `routing` is the explanation of the
    decision that opened the case: `{"ruleset_version", "rule_ids", "deciding_rule", "spans"}`.
    `return_status` remembers where a `pending_customer` case goes back to. `acknowledged_at` is set
    when the current owner acknowledges, and cleared when the owner changes; `external_ref` is the
    owner's own ticket reference. `due_at` (the nearest deadline of a running SLA timer) and
    `sla_state` (the worst state of its active timers) are kept by `app.sla.timers` for the queue.
    `account` is our own account the opening mention reached, `account_name` its display name in
    connectors.yaml when the case opened (a later rename shows on new cases). `anonymised_at` is set
    when its text and author data were blanked (`app.privacy`: retention, or the author's erasure).
    """

    __tablename__ = "cases"
    __table_args__ = (
        Index("ix_cases_status_created", "status", "created_at"),
        Index("ix_cases_author", "channel", "author_key", "last_mention_at"),
    )

    id: Mapped[int] = mapped_column(ID, primary_key=True)
    status: Mapped[str] = mapped_column(String(24))
    department: Mapped[str] = mapped_column(String(64), index=True)
    category: Mapped[str] = mapped_column(String(64))
    priority: Mapped[str] = mapped_column(String(2))
    sla_policy: Mapped[str] = mapped_column(String(64))
    assignee_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"), index=True)
    channel: Mapped[str] = mapped_column(String(40))
    connector: Mapped[str] = mapped_column(String(64))
    account: Mapped[str | None] = mapped_column(String(200), index=True)
    account_name: Mapped[str | None] = mapped_column(String(200))
    author: Mapped[dict[str, Any]] = mapped_column(JSONValue)
    author_key: Mapped[str | None] = mapped_column(String(200))
    routing: Mapped[dict[str, Any]] = mapped_column(JSONValue)
    ruleset_version: Mapped[str] = mapped_column(String(16))
    return_status: Mapped[str | None] = mapped_column(String(24))
    linked_case_id: Mapped[int | None] = mapped_column(ForeignKey("cases.id"))
    merged_into_id: Mapped[int | None] = mapped_column(ForeignKey("cases.id"))
    external_ref: Mapped[str | None] = mapped_column(String(200))
    acknowledged_at: Mapped[datetime | None]
    due_at: Mapped[datetime | None] = mapped_column(index=True)
    sla_state: Mapped[str | None] = mapped_column(String(16))
    anonymised_at: Mapped[datetime | None]
    created_at: Mapped[datetime]
    updated_at: Mapped[datetime]
    last_mention_at: Mapped[datetime]

    assignee: Mapped[User | None] = relationship(lazy="joined")
    tag_rows: Mapped[list[CaseTag]] = relationship(
        cascade="all, delete-orphan", lazy="selectin", order_by="CaseTag.tag"
    )

    @property
    def ref(self) -> str:
        return format_ref(self.id)

    @property
    def tags(self) -> list[str]:
        return [row.tag for row in self.tag_rows]


class CaseTag(Base):
    """A tag on a case; a table of its own so `?tag=` filters use an index on every database."""

    __tablename__ = "case_tags"

    case_id: Mapped[int] = mapped_column(ForeignKey("cases.id", ondelete="CASCADE"), primary_key=True)
    tag: Mapped[str] = mapped_column(String(64), primary_key=True, index=True)


class CaseOwner(Base):
    """Every department that has owned a case: a department token may read those cases."""

    __tablename__ = "case_owners"

    case_id: Mapped[int] = mapped_column(ForeignKey("cases.id", ondelete="CASCADE"), primary_key=True)
    department: Mapped[str] = mapped_column(String(64), primary_key=True, index=True)
    since: Mapped[datetime]


class CaseEvent(Base):
    """The timeline and audit trail: who (`actor_type`/`actor`) did what (`type`, `data`) and when."""

    __tablename__ = "case_events"

    id: Mapped[int] = mapped_column(ID, primary_key=True)
    case_id: Mapped[int] = mapped_column(ForeignKey("cases.id", ondelete="CASCADE"), index=True)
    type: Mapped[str] = mapped_column(String(40))
    actor_type: Mapped[str] = mapped_column(String(16))
    actor: Mapped[str | None] = mapped_column(String(64))
    at: Mapped[datetime]
    data: Mapped[dict[str, Any]] = mapped_column(JSONValue, default=dict)
