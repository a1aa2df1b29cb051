"""Every request body is limited on the stream, before it is parsed or buffered: `413` problem JSON
over the limit (declared by Content-Length or found while chunked), accepted just under it."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from app.ingest.body import PLATFORM_MAX_BODY_BYTES
from app.ingest.standard import MAX_BODY_BYTES as STANDARD_MAX_BODY_BYTES
from app.ingest.verification import hub_signature
from app.mentions.stored import StoredMention
from app.web.body_limit import DEFAULT_MAX_BODY_BYTES
from tests.conftest import BASIC_RULES
from tests.ingest.platform_support import CONNECTORS_YAML, SAMPLES, platform_rules
from tests.support import ApiClient, Signer, mention, post_mentions

SMALL_CONNECTOR = "  - {name: fb-small, kind: meta, app_secret_env: TEST_META_APP_SECRET, " \
                  "verify_token_env: TEST_META_VERIFY_TOKEN, max_body_bytes: 8192}\n"


@pytest.fixture
def rules_dir(tmp_path: Path) -> Path:
    folder = platform_rules(BASIC_RULES, tmp_path / "rules")
    (folder / "connectors.yaml").write_text(CONNECTORS_YAML + SMALL_CONNECTOR)
    return folder


def chunked(body: bytes, size: int = 64 * 1024) -> Iterator[bytes]:
    for start in range(0, len(body), size):
        yield body[start:start + size]


def padded(document: object, size: int) -> bytes:
    """`document` as JSON padded with trailing whitespace to exactly `size` bytes (still valid JSON)."""
    text = json.dumps(document).encode()
    assert len(text) <= size
    return text + b" " * (size - len(text))


def assert_too_large(response) -> None:  # type: ignore[no-untyped-def]
    assert response.status_code == 413, response.text
    assert response.headers["content-type"] == "application/problem+json"
    assert response.json()["type"].endswith("/payload-too-large")


def new_case(client: TestClient, signer: Signer) -> str:
    return str(post_mentions(client, signer, mention("mijn factuur is te hoog")).json()["cases"][0])


def test_api_bodies_over_the_limit_are_413_before_authentication(client: TestClient, signer: Signer) -> None:
    ref = new_case(client, signer)
    over = padded({"text": "x"}, DEFAULT_MAX_BODY_BYTES + 1)
    headers = {"content-type": "application/json"}  # no token: refused for its size first
    assert_too_large(client.post(f"/api/v1/cases/{ref}/notes", content=over, headers=headers))
    assert_too_large(client.post(f"/api/v1/cases/{ref}/notes", content=chunked(over), headers=headers))
    under = client.post(f"/api/v1/cases/{ref}/notes", content=padded({"text": "x"}, DEFAULT_MAX_BODY_BYTES),
                        headers=headers)
    assert under.status_code == 401


def test_api_body_just_under_the_limit_is_accepted_and_acted_on(client: TestClient, signer: Signer,
                                                                api: ApiClient) -> None:
    ref = new_case(client, signer)
    under = padded({"text": "just under"}, DEFAULT_MAX_BODY_BYTES)
    for body in (under, chunked(under)):
        response = api.post(f"/api/v1/cases/{ref}/notes", content=body, headers={"content-type": "application/json"})
        assert response.status_code == 200, response.text
    chunked_over = api.post(f"/api/v1/cases/{ref}/notes", content=chunked(under + b" "),
                            headers={"content-type": "application/json"})
    assert_too_large(chunked_over)
    notes = [e for e in api.get(f"/api/v1/cases/{ref}").json()["timeline"] if e["type"] == "note_added"]
    assert len(notes) == 2


def test_ui_forms_are_limited_too(client: TestClient) -> None:
    form = b"username=ann&password=" + b"x" * DEFAULT_MAX_BODY_BYTES
    headers = {"content-type": "application/x-www-form-urlencoded"}
    assert_too_large(client.post("/ui/login", content=form, headers=headers))
    assert_too_large(client.post("/ui/login", content=chunked(form), headers=headers))


def test_the_limit_is_a_setting(tmp_path: Path, rules_dir: Path, engine, sessions) -> None:  # type: ignore[no-untyped-def]
    from app.main import create_app
    from app.settings import Settings

    settings = Settings(env="development", rules_dir=rules_dir, var_dir=tmp_path / "var", workers_enabled=False,
                        max_body_bytes=4096)
    with TestClient(create_app(settings, engine=engine, sessions=sessions)) as small:
        assert_too_large(small.post("/api/v1/rules/explain", content=b" " * 4097))
        assert small.post("/api/v1/rules/explain", content=b" " * 4096).status_code == 401


def test_standard_connectors_keep_their_one_mib(client: TestClient, signer: Signer, session: Session) -> None:
    body = padded(mention("storing"), STANDARD_MAX_BODY_BYTES)
    assert client.post("/webhooks/listening-tool", content=body, headers=signer.headers(body)).status_code == 200
    over = body + b" "
    assert_too_large(client.post("/webhooks/listening-tool", content=over, headers=signer.headers(over)))
    assert_too_large(client.post("/webhooks/listening-tool", content=chunked(over), headers=signer.headers(over)))
    assert session.scalar(select(func.count()).select_from(StoredMention)) == 1


@pytest.mark.parametrize(("connector", "limit"), [("fb", PLATFORM_MAX_BODY_BYTES), ("fb-small", 8192)])
def test_platform_limit_is_two_mib_or_the_connectors_own(client: TestClient, app, session: Session,  # type: ignore[no-untyped-def]
                                                          connector: str, limit: int) -> None:
    secret = app.state.secrets.get("TEST_META_APP_SECRET")
    body = padded(json.loads((SAMPLES / "messenger_message.json").read_bytes()), limit)

    def post(content: bytes | Iterator[bytes], signed: bytes):  # type: ignore[no-untyped-def]
        return client.post(f"/webhooks/{connector}", content=content, headers={
            "content-type": "application/json", "x-hub-signature-256": hub_signature(secret, signed)})

    over = body + b" "
    assert_too_large(post(over, over))
    assert_too_large(post(chunked(over, 4096), over))
    accepted = post(chunked(body, 4096), body)
    assert accepted.status_code == 200 and accepted.json()["accepted"] == 1
    assert session.scalar(select(func.count()).select_from(StoredMention)) == 1
