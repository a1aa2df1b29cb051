"""Browser sessions of the agents' UI."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, String
from sqlalchemy.orm import Mapped, mapped_column

from app.db import Base
from app.kernel.ids import ID


class UiSession(Base):
    """A logged-in browser. The cookie holds a 256-bit random token; only its SHA-256 is stored, so a
    copy of the table logs nobody in. `csrf_token` is the synchronizer token every form carries."""

    __tablename__ = "ui_sessions"

    id: Mapped[int] = mapped_column(ID, primary_key=True)
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    csrf_token: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[datetime]
    expires_at: Mapped[datetime] = mapped_column(index=True)


class CaseRead(Base):
    """When a user last had a case open (`seen_at`): the queue marks a case unread for that user
    while its latest customer message (`Case.last_mention_at`) is newer, or they never opened it."""

    __tablename__ = "case_reads"

    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), primary_key=True)
    case_id: Mapped[int] = mapped_column(ForeignKey("cases.id", ondelete="CASCADE"), primary_key=True)
    seen_at: Mapped[datetime]
