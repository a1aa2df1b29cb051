"""Incidents and the cases they group."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Float, ForeignKey, Index, String, text
from sqlalchemy.orm import Mapped, mapped_column

from app.db import Base
from app.kernel.ids import ID

INCIDENT_STATUSES = ("open", "closed")
_OPEN = "status = 'open'"


class Incident(Base):
    """A storm of mentions matching one watch of `incidents.yaml` (`watch`, its `title` when it opened).

    `last_hot_at` is the last check that found the watch hot (it closes itself `calm` after that);
    `checked_at` the last check of it (the next looks for joining cases from a little before it);
    `usual` and `needed` are the usual count per window and the hot threshold when it opened,
    `peak` the most matching mentions seen in one window. `closed_by` is `calm`, `watch-removed` or
    the user who closed it. At most one incident per watch is open (a partial unique index), so
    two processes checking at once cannot both open one.
    """

    __tablename__ = "incidents"
    __table_args__ = (
        Index("ux_incidents_open_watch", "watch", unique=True, postgresql_where=text(_OPEN),
              sqlite_where=text(_OPEN)),
        Index("ix_incidents_status_opened", "status", "opened_at"),
    )

    id: Mapped[int] = mapped_column(ID, primary_key=True)
    watch: Mapped[str] = mapped_column(String(64))
    title: Mapped[str] = mapped_column(String(200))
    status: Mapped[str] = mapped_column(String(16))
    opened_at: Mapped[datetime]
    last_hot_at: Mapped[datetime]
    checked_at: Mapped[datetime]
    closed_at: Mapped[datetime | None]
    closed_by: Mapped[str | None] = mapped_column(String(64))
    usual: Mapped[float] = mapped_column(Float)
    needed: Mapped[int]
    peak: Mapped[int]
    ruleset_version: Mapped[str] = mapped_column(String(16))


class IncidentCase(Base):
    """A case grouped by an incident (a case may be in several incidents over time)."""

    __tablename__ = "incident_cases"

    incident_id: Mapped[int] = mapped_column(ForeignKey("incidents.id", ondelete="CASCADE"), primary_key=True)
    case_id: Mapped[int] = mapped_column(ForeignKey("cases.id", ondelete="CASCADE"), primary_key=True, index=True)
    joined_at: Mapped[datetime]
