"""Make the generated OpenAPI document say what the service really does.

FastAPI documents every error as `application/json` `HTTPValidationError`, knows nothing of the
bearer tokens checked in `app.web.deps`, of the body `POST /webhooks/{connector}` reads by hand, or
of the events the service sends to department systems. `finish_openapi` fixes that on the
generated document, so `/openapi.json` and the committed `openapi.yaml` stay one and true:

- every 4xx/5xx response is `application/problem+json` with the `Problem` schema (422 with
  `errors`, 409 with `allowed`); FastAPI's validation schemas are gone;
- `/api/v1` operations require `bearerAuth` (a UI session cookie works too, for the UI's own calls);
- `POST /webhooks/{connector}` has its `standard` body and its answer as schemas;
- `webhooks` (OpenAPI 3.1) describes each outbound event type and its body.
"""

from __future__ import annotations

import copy
from typing import Any

from app.delivery.outbox import EVENT_BODY_VERSION
from app.kernel.vocabulary import EVENT_TYPES

PROBLEM_JSON = "application/problem+json"
PROBLEM_REF = {"$ref": "#/components/schemas/Problem"}

PROBLEM_SCHEMA: dict[str, Any] = {
    "title": "Problem",
    "description": "An RFC 9457 problem. `type` is a stable URI ending in a slug the README lists.",
    "type": "object",
    "required": ["type", "title", "status"],
    "properties": {
        "type": {"type": "string", "format": "uri"},
        "title": {"type": "string"},
        "status": {"type": "integer", "minimum": 400, "maximum": 599},
        "detail": {"type": "string"},
        "instance": {"type": "string"},
        "errors": {"type": "array", "description": "validation errors, each naming the field",
                   "items": {"type": "object", "required": ["field", "message"],
                             "properties": {"field": {"type": "string"}, "message": {"type": "string"}}}},
        "allowed": {"type": "array", "items": {"type": "string"},
                    "description": "on 409: the actions the case's state allows"},
    },
    "additionalProperties": True,
}

INGEST_RESULT_SCHEMA: dict[str, Any] = {
    "title": "IngestResult",
    "type": "object",
    "required": ["accepted", "duplicates", "updated", "ignored", "dead_lettered", "cases"],
    "properties": {
        "accepted": {"type": "integer", "description": "new mentions stored"},
        "duplicates": {"type": "integer", "description": "already stored, unchanged"},
        "updated": {"type": "integer", "description": "edits or removals of stored mentions"},
        "ignored": {"type": "integer", "description": "events that carry no customer message"},
        "dead_lettered": {"type": "integer", "description": "authentic events kept for replay"},
        "cases": {"type": "array", "items": {"type": "string", "pattern": "^WC-\\d{6,}$"}},
    },
}

DEFAULT_ERROR_DESCRIPTIONS = {"401": "No or unknown token", "403": "The caller's role may not do this",
                              "413": "Body over the limit", "503": "Database unreachable; retry later"}


def finish_openapi(spec: dict[str, Any]) -> dict[str, Any]:
    """The generated `spec` made true (see the module docstring); returns a new document."""
    spec = copy.deepcopy(spec)
    schemas = spec.setdefault("components", {}).setdefault("schemas", {})
    schemas.pop("HTTPValidationError", None)
    schemas.pop("ValidationError", None)
    schemas["Problem"] = PROBLEM_SCHEMA
    schemas["IngestResult"] = INGEST_RESULT_SCHEMA
    spec["components"]["securitySchemes"] = {
        "bearerAuth": {"type": "http", "scheme": "bearer",
                       "description": "a user's or a department's token (`webcare tokens create`)"}}
    for path, operations in spec.get("paths", {}).items():
        for operation in operations.values():
            _problem_responses(operation, authenticated=path.startswith("/api/v1"))
            if path.startswith("/api/v1"):
                operation["security"] = [{"bearerAuth": []}]
    _webhook_receiver(spec)
    spec["webhooks"] = _outbound_events(schemas)
    return spec


def _problem_responses(operation: dict[str, Any], *, authenticated: bool) -> None:
    responses = operation.setdefault("responses", {})
    if authenticated:
        for status in ("401", "403"):
            responses.setdefault(status, {"description": DEFAULT_ERROR_DESCRIPTIONS[status]})
    for status, response in responses.items():
        if status[0] in "45":
            response["content"] = {PROBLEM_JSON: {"schema": PROBLEM_REF}}


def _webhook_receiver(spec: dict[str, Any]) -> None:
    post = spec.get("paths", {}).get("/webhooks/{connector}", {}).get("post")
    if post is None:
        return
    schemas = spec["components"]["schemas"]
    if "MentionIn" in schemas:
        mention = copy.deepcopy(schemas["MentionIn"])
        mention["title"] = "StandardMention"
        mention["required"] = sorted({*mention.get("required", []), "id", "channel", "text"})
        schemas["StandardMention"] = mention
        standard = {"$ref": "#/components/schemas/StandardMention"}
        body_schema: dict[str, Any] = {"anyOf": [
            standard,
            {"type": "object", "required": ["mentions"], "title": "StandardBatch",
             "properties": {"mentions": {"type": "array", "maxItems": 1000, "items": standard}}},
            {"type": "object", "title": "PlatformPayload",
             "description": "meta, whatsapp, x and telegram connectors: the platform's own webhook body"},
        ]}
        post["requestBody"] = {"required": True, "content": {"application/json": {"schema": body_schema}},
                               "description": "a `standard` connector's mention or batch (signed the Standard "
                                              "Webhooks way), or a platform's own payload"}
    ok = post.get("responses", {}).get("200")
    if ok is not None:
        ok["content"] = {"application/json": {"schema": {"$ref": "#/components/schemas/IngestResult"}}}


CASE_EVENT_DATA = "the case as `GET /api/v1/cases/{ref}` shows it, and who or what caused the event"
PING_DATA: dict[str, Any] = {
    "type": "object", "required": ["department", "ping_id"], "additionalProperties": True,
    "properties": {"department": {"type": "string", "description": "the department pinged"},
                   "ping_id": {"type": "string", "pattern": "^ping_[0-9a-f]{32}$",
                               "description": "the same as the `webhook-id` header"}}}


def _outbound_events(schemas: dict[str, Any]) -> dict[str, Any]:
    case = {"$ref": "#/components/schemas/CaseOut"} if "CaseOut" in schemas else {"type": "object"}
    case_data = {"type": "object", "required": ["case"], "additionalProperties": True,
                 "description": CASE_EVENT_DATA,
                 "properties": {"case": case,
                                "actor": {"type": "object",
                                          "properties": {"type": {"type": "string"},
                                                         "name": {"type": ["string", "null"]}}}}}
    webhooks: dict[str, Any] = {}
    for event_type in EVENT_TYPES:
        ping = event_type == "ping"
        body = {
            "type": "object", "required": ["type", "version", "timestamp", "data"],
            "properties": {
                "type": {"const": event_type},
                "version": {"const": EVENT_BODY_VERSION,
                            "description": "the body format's version; raised only when a field changes meaning "
                                           "or goes away"},
                "timestamp": {"type": "string", "format": "date-time"},
                "data": (_incident_data(schemas) if event_type.startswith("incident.")
                         else copy.deepcopy(PING_DATA if ping else case_data)),
            },
        }
        webhooks[event_type] = {"post": {
            "summary": ("ping: ops test the department's endpoint" if ping
                        else f"{event_type} sent to a department's system"),
            "description": "Signed the Standard Webhooks way (`webhook-id`, `webhook-timestamp`, "
                           "`webhook-signature`); answer 2xx within 10 s. See docs/department-api.md."
                           + (" Sent once when ops ask (`POST /api/v1/departments/{department}/ping`), whatever "
                              "the subscription's `events`; never retried, never in the event feed; answer "
                              "2xx and do nothing else." if ping else ""),
            "requestBody": {"required": True, "content": {"application/json": {"schema": body}}},
            "responses": {"2XX": {"description": "received"},
                          "410": {"description": "switch this subscription off" if not ping
                                  else "reported to ops; a ping never switches the subscription off"}},
        }}
    return webhooks


def _incident_data(schemas: dict[str, Any]) -> dict[str, Any]:
    """An `incident.*` body's data: the incident as `GET /api/v1/incidents/{id}` shows it, without
    its cases (a department sees only the cases it owns)."""
    incident = {"$ref": "#/components/schemas/IncidentOut"} if "IncidentOut" in schemas else {"type": "object"}
    return {"type": "object", "required": ["incident"], "additionalProperties": True,
            "properties": {"incident": incident}}
