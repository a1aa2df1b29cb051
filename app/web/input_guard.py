"""Refuses, before any route runs, request input that neither database could store.

One app-wide dependency, so every route is covered, those added later included: query parameters,
JSON bodies and form fields holding a NUL character (PostgreSQL refuses it in text, SQLite stores
it; the service refuses it on both) and JSON bodies nested deeper than `MAX_JSON_DEPTH`. Each is
`422 validation-error` naming the field. Webhook bodies are left to their connector (they stream,
and an authentic platform body that cannot be stored becomes an inbound dead letter instead).
"""

from __future__ import annotations

from fastapi import Request

from app.kernel.errors import InvalidInput
from app.kernel.json_input import MAX_JSON_DEPTH, NUL, nul_field, too_deep

_NUL_MESSAGE = "must not contain a NUL character"


async def refuse_unstorable_input(request: Request) -> None:
    """Raise InvalidInput naming the first query parameter, body field or form field that holds a
    NUL character, or the body when it nests deeper than MAX_JSON_DEPTH."""
    for name, value in request.query_params.multi_items():
        if NUL in name or NUL in value:
            raise InvalidInput([{"field": name.replace(NUL, ""), "message": _NUL_MESSAGE}])
    if request.method in ("GET", "HEAD", "OPTIONS") or request.url.path.startswith("/webhooks/"):
        return
    content_type = request.headers.get("content-type", "")
    if content_type.startswith(("application/x-www-form-urlencoded", "multipart/form-data")):
        # Read once and kept on the request: the route's own `request.form()` gets the same form.
        form = await request.form()
        for name, field in form.multi_items():
            if NUL in name or (isinstance(field, str) and NUL in field):
                raise InvalidInput([{"field": name.replace(NUL, ""), "message": _NUL_MESSAGE}])
    elif "json" in content_type:
        try:
            document = await request.json()  # parsed already for the route, and kept on the request
        except (ValueError, RecursionError):
            return  # the route refuses it (422) if it reads a body at all
        if too_deep(document):
            raise InvalidInput([{"field": "body", "message": f"nested deeper than {MAX_JSON_DEPTH} levels"}])
        if (where := nul_field(document)) is not None:
            raise InvalidInput([{"field": where or "body", "message": _NUL_MESSAGE}])
