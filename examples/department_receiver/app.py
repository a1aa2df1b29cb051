"""A sample department system: the smallest correct receiver of Webcare Router's webhooks.

What it shows a department developer:
- verify every delivery with the `standardwebhooks` library and the department's `whsec_` secret,
  and answer 401 to anything that does not verify;
- answer 2xx at once and do the work after (the service retries anything slower than its timeout);
- deduplicate on `webhook-id`: a retried or redelivered event has the same id;
- acknowledge a `ping` (ops testing the endpoint) and do nothing else with it;
- call back over the REST API with the department's token: acknowledge a handed-off case with its
  own ticket number, add a note, and resolve the case when the ticket is done.

Run it with `python -m examples.department_receiver` (options in README.md beside this file).
"""

from __future__ import annotations

import itertools
import logging
from dataclasses import dataclass, field
from typing import Any

import httpx
from fastapi import BackgroundTasks, FastAPI, HTTPException, Request
from standardwebhooks import Webhook, WebhookVerificationError

log = logging.getLogger("department_receiver")


@dataclass
class Ticket:
    """This system's own record of a Webcare case."""

    number: str
    case_ref: str
    status: str = "open"
    events: list[str] = field(default_factory=list)


@dataclass
class ReceiverConfig:
    secret: str          # the department's whsec_... webhook secret
    token: str           # a department token: `webcare tokens create --department ID`
    webcare_url: str     # e.g. http://127.0.0.1:8000
    department: str


def create_receiver(config: ReceiverConfig, *, transport: httpx.BaseTransport | None = None) -> FastAPI:
    """The receiver's FastAPI app. `transport` lets a test route the API calls elsewhere."""
    app = FastAPI(title=f"Sample {config.department} system")
    verifier = Webhook(config.secret)
    api = httpx.Client(base_url=config.webcare_url, headers={"Authorization": f"Bearer {config.token}"},
                       timeout=10, transport=transport)
    seen_ids: set[str] = set()
    pings: list[str] = []  # the `webhook-id`s of the pings ops sent (GET /pings)
    tickets: dict[str, Ticket] = {}
    numbers = itertools.count(1001)

    def call(ref: str, action: str, body: dict[str, Any], *, key: str) -> None:
        # The Idempotency-Key makes a repeated call (our own retry after a timeout) harmless.
        response = api.post(f"/api/v1/cases/{ref}/{action}", json=body, headers={"Idempotency-Key": key})
        if response.status_code >= 400:
            log.warning("%s on %s answered %s: %s", action, ref, response.status_code, response.text)

    def on_event(webhook_id: str, event: dict[str, Any]) -> None:
        case = event["data"]["case"]
        ref, kind = case["ref"], event["type"]
        ticket = tickets.get(ref)
        if kind == "case.handed_off" and case["department"] == config.department and ticket is None:
            ticket = tickets[ref] = Ticket(number=f"{config.department.upper()}-{next(numbers)}", case_ref=ref)
            call(ref, "acknowledge", {"external_ref": ticket.number}, key=f"{webhook_id}-acknowledge")
            call(ref, "notes", {"text": f"Ticket {ticket.number} opened; we are looking into it."},
                 key=f"{webhook_id}-notes")
        if ticket is not None:
            ticket.events.append(kind)
            if kind in ("case.rerouted", "case.resolved", "case.closed") and case["department"] != config.department:
                ticket.status = "closed"  # the case left us: close our ticket too

    @app.post("/hooks/webcare", status_code=204)
    async def receive(request: Request, background: BackgroundTasks) -> None:
        body = await request.body()
        try:
            event = verifier.verify(body, {k.lower(): v for k, v in request.headers.items()})
        except WebhookVerificationError as exc:
            raise HTTPException(401, "signature does not verify") from exc
        webhook_id = request.headers["webhook-id"]
        if event.get("type") == "ping":
            log.info("ping %s from Webcare: endpoint reachable and the secret matches", webhook_id)
            pings.append(webhook_id)
            return  # acknowledged: a ping asks for nothing else
        if webhook_id in seen_ids:
            return  # a retry of an event already taken: acknowledge it again, do nothing twice
        seen_ids.add(webhook_id)
        background.add_task(on_event, webhook_id, event)

    @app.get("/pings")
    def list_pings() -> list[str]:
        return pings

    @app.get("/tickets")
    def list_tickets() -> list[dict[str, Any]]:
        return [vars(ticket) for ticket in tickets.values()]

    @app.post("/tickets/{number}/resolve")
    def resolve_ticket(number: str, resolution: str = "Fixed on our side") -> dict[str, Any]:
        ticket = next((t for t in tickets.values() if t.number == number), None)
        if ticket is None:
            raise HTTPException(404, "no such ticket")
        call(ticket.case_ref, "resolve", {"resolution": resolution}, key=f"{ticket.number}-resolve")
        ticket.status = "resolved"
        return vars(ticket)

    return app
