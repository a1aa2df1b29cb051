"""The normalised mention JSON of SPEC §1 "Connectors", as pydantic models (the edge).

Used by the `standard` connector, by rule test files and by `POST /api/v1/rules/explain`.
Timestamps must carry an offset; they are converted to UTC.
"""

from __future__ import annotations

from datetime import UTC
from typing import Annotated

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field, model_validator

from app.mentions.model import Attachment, Author, Mention

MAX_BATCH = 1000


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class AuthorIn(_Strict):
    id: str | None = None
    handle: str | None = None
    name: str | None = None
    followers: Annotated[int, Field(ge=0)] | None = None
    verified: bool | None = None


class AttachmentIn(_Strict):
    type: Annotated[str, Field(min_length=1, max_length=40)]
    url: str | None = None
    id: str | None = None


class MentionIn(_Strict):
    """One normalised mention. `id`, `channel` and `text` are required; `text` may be empty only
    when the mention has attachments."""

    id: Annotated[str, Field(min_length=1, max_length=200)]
    channel: Annotated[str, Field(min_length=1, max_length=40)]
    text: Annotated[str, Field(max_length=100_000)]
    url: str | None = None
    language: Annotated[str, Field(max_length=16)] | None = None
    is_private: bool = False
    conversation_id: Annotated[str, Field(max_length=200)] | None = None
    in_reply_to: Annotated[str, Field(max_length=200)] | None = None
    author: AuthorIn = AuthorIn()
    attachments: list[AttachmentIn] = []
    created_at: AwareDatetime | None = None
    account: Annotated[str, Field(min_length=1, max_length=200)] | None = None

    @model_validator(mode="after")
    def _text_or_attachments(self) -> MentionIn:
        if not self.text and not self.attachments:
            raise ValueError("text may be empty only when the mention has attachments")
        return self

    def to_mention(self) -> Mention:
        """The pure `Mention` this JSON describes (times in UTC)."""
        return Mention(
            external_id=self.id,
            channel=self.channel,
            text=self.text,
            url=self.url,
            language=self.language,
            is_private=self.is_private,
            conversation_id=self.conversation_id,
            in_reply_to=self.in_reply_to,
            author=Author(**self.author.model_dump()),
            attachments=tuple(Attachment(**a.model_dump()) for a in self.attachments),
            posted_at=self.created_at.astimezone(UTC) if self.created_at else None,
            account=self.account,
        )


class MentionBatchIn(_Strict):
    """`{"mentions": [...]}` with at most 1000 mentions."""

    mentions: Annotated[list[MentionIn], Field(min_length=1, max_length=MAX_BATCH)]

