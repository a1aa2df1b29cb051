"""The trained suggestion models, stored so every process serves the same one."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import Index, String
from sqlalchemy.orm import Mapped, mapped_column

from app.db import Base, JSONValue
from app.kernel.ids import ID


class RoutingModel(Base):
    """One training run of the model `name`: rows are only added (the newest serves) and the
    oldest pruned, so processes refreshing at once never overwrite each other. `model` is the
    model's JSON; `examples` the cases it learned from, opened in [window_start, window_end)."""

    __tablename__ = "routing_models"
    __table_args__ = (Index("ix_routing_models_name_id", "name", "id"),)

    id: Mapped[int] = mapped_column(ID, primary_key=True)
    name: Mapped[str] = mapped_column(String(64))
    trained_at: Mapped[datetime]
    window_start: Mapped[datetime]
    window_end: Mapped[datetime]
    examples: Mapped[int]
    model: Mapped[dict[str, Any]] = mapped_column(JSONValue)
