"""Domain errors: what went wrong, in the domain's words, without HTTP.

Services, the pure parsers and the workers raise these; `app.web.problems` alone renders them as
RFC 9457 problem JSON (each class has a stable `type` and status there); the CLIs and the SLA
sweeper catch them as they are. `extra` carries structured detail (`errors`, `allowed`, ...)
that the problem JSON shows as members of its own.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any


class DomainError(Exception):
    """An error the caller can act on. `detail` says what happened; `extra` adds structured members."""

    title = "Bad request"

    def __init__(self, detail: str | None = None, **extra: Any):
        super().__init__(detail or self.title)
        self.detail = detail
        self.extra = extra


class InvalidInput(DomainError):
    """Input breaks the format or names something unknown; `errors` are `[{"field", "message"}]`,
    each naming the field (`mentions[3].author.followers`)."""

    title = "The request is not valid"

    def __init__(self, errors: Sequence[dict[str, str]], detail: str | None = None):
        super().__init__(detail or f"{len(errors)} field(s) are not valid", errors=list(errors))
        self.errors = list(errors)


class InvalidSignature(DomainError):
    title = "The webhook signature is missing or wrong"


class Forbidden(DomainError):
    title = "Not allowed for this role"


class NotFound(DomainError):
    title = "Not found"


class UnknownConnector(DomainError):
    title = "No connector of that name is configured"


class UnsupportedConnectorKind(DomainError):
    title = "This connector kind has no adapter in this version"


class Conflict(DomainError):
    """Not allowed in the current state; `allowed` (when given) names the actions that are."""

    title = "Not allowed in the current state"


class RuleSetInvalid(DomainError):
    title = "The rule folder has errors; the active rule set is unchanged"


def field_path(loc: Sequence[str | int]) -> str:
    """A validation error's location as a dotted path with indexes: `("mentions", 0, "author", "id")`
    → `mentions[0].author.id`. Request-part prefixes (`body`, `query`) are dropped."""
    path = ""
    for part in loc:
        if isinstance(part, int):
            path += f"[{part}]"
        elif part in ("body", "query", "path", "header") and not path:
            continue
        else:
            path += f".{part}" if path else str(part)
    return path


def field_errors(errors: Sequence[Any]) -> list[dict[str, str]]:
    """Validation errors in pydantic's shape (`loc`, `msg`) as `[{"field", "message"}]`."""
    return [{"field": field_path(e.get("loc", ())), "message": e.get("msg", "invalid")} for e in errors]
