"""Helpers the tests share: signing deliveries, making tokens, calling the API."""

from __future__ import annotations

import json
import time
import uuid
from dataclasses import dataclass
from typing import Any

from fastapi.testclient import TestClient
from httpx import Response
from sqlalchemy.orm import Session, sessionmaker

from app.audit import SYSTEM
from app.auth.service import add_user, create_token
from app.delivery.signing import sign_payload
from app.kernel.clock import utc_now


@dataclass
class Signer:
    secret: str

    def headers(self, body: bytes, *, timestamp: int | None = None, msg_id: str | None = None) -> dict[str, str]:
        headers = sign_payload([self.secret], msg_id or f"msg_{uuid.uuid4().hex}",
                               int(time.time()) if timestamp is None else timestamp, body)
        return {**headers, "content-type": "application/json"}


def mention(text: str, **fields: Any) -> dict[str, Any]:
    """A normalised mention with a fresh id."""
    return {"id": fields.pop("id", f"m-{uuid.uuid4().hex[:12]}"), "channel": fields.pop("channel", "x"),
            "text": text, **fields}


def post_mentions(client: TestClient, signer: Signer, payload: Any, connector: str = "listening-tool") -> Response:
    body = json.dumps(payload).encode()
    return client.post(f"/webhooks/{connector}", content=body, headers=signer.headers(body))


def make_user_token(sessions: sessionmaker[Session], username: str, role: str) -> str:
    with sessions() as session, session.begin():
        user = add_user(session, username=username, role=role, password=None, now=utc_now(),
                        actor=SYSTEM)  # tokens only
        _, token = create_token(session, now=utc_now(), actor=SYSTEM, user=user)
    return token


def make_department_token(sessions: sessionmaker[Session], department: str) -> str:
    with sessions() as session, session.begin():
        _, token = create_token(session, now=utc_now(), actor=SYSTEM, department=department)
    return token


@dataclass
class ApiClient:
    client: TestClient
    token: str

    def get(self, path: str, **kwargs: Any) -> Response:
        headers = {"authorization": f"Bearer {self.token}", **kwargs.pop("headers", {})}
        return self.client.get(path, headers=headers, **kwargs)

    def post(self, path: str, **kwargs: Any) -> Response:
        headers = {"authorization": f"Bearer {self.token}", **kwargs.pop("headers", {})}
        return self.client.post(path, headers=headers, **kwargs)


def audited(ops: ApiClient, action: str, **params: Any) -> list[dict[str, Any]]:
    """The audit entries of `action`, newest first, read over `GET /api/v1/audit` (an ops client)."""
    response = ops.get("/api/v1/audit", params={"action": action, "limit": 200, **params})
    assert response.status_code == 200, response.text
    items: list[dict[str, Any]] = response.json()["items"]
    return items
