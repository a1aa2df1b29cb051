"""The rule engine's tables: what every process runs, reload requests between processes, and rule
hit counters summed over processes."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import BigInteger, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from app.db import Base
from app.kernel.ids import ID


class RuleProcess(Base):
    """One running `webcare serve` or `webcare worker`: the rule-set version it runs and how its
    last reload went, refreshed by a heartbeat. A row whose heartbeat is old is a process that
    died without saying goodbye; readers leave it out."""

    __tablename__ = "rule_processes"

    id: Mapped[str] = mapped_column(String(120), primary_key=True)
    kind: Mapped[str] = mapped_column(String(16))
    version: Mapped[str] = mapped_column(String(40))
    reload_successful: Mapped[bool]
    last_error: Mapped[str | None] = mapped_column(Text)
    last_success_at: Mapped[datetime | None]
    started_at: Mapped[datetime]
    heartbeat_at: Mapped[datetime] = mapped_column(index=True)


class RuleReloadRequest(Base):
    """A reload asked of one process over HTTP; every other process reloads when it sees a row
    newer than the last one it saw."""

    __tablename__ = "rule_reload_requests"

    id: Mapped[int] = mapped_column(ID, primary_key=True)
    requested_by: Mapped[str] = mapped_column(String(120))
    requested_at: Mapped[datetime] = mapped_column(index=True)


class RuleHit(Base):
    """How many mentions a rule (by id, over every version that had it) matched and decided."""

    __tablename__ = "rule_hits"

    rule_id: Mapped[str] = mapped_column(String(200), primary_key=True)
    matched: Mapped[int] = mapped_column(BigInteger)
    decided: Mapped[int] = mapped_column(BigInteger)
    last_hit_at: Mapped[datetime]
