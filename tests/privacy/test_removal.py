"""A message the author removed on the platform: its text is blanked everywhere it was copied and
never served again, through the real webhook receiver on the real database."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from app.ingest.models import InboundDeadLetter
from tests.conftest import BASIC_RULES
from tests.ingest.platform_support import PlatformPoster, platform_rules, poster_for
from tests.privacy.support import places_holding
from tests.support import ApiClient
from tests.ui.support import login, make_user

FIRST = "Mijn klantnummer is 88120457 en de router knippert rood"
EDITED = "Mijn klantnummer is 88120457 en de router knippert nog steeds rood"
MID = "m.removal-1"


@pytest.fixture
def rules_dir(tmp_path: Path) -> Path:
    return platform_rules(BASIC_RULES, tmp_path / "rules")


@pytest.fixture
def poster(client: TestClient, app) -> PlatformPoster:  # type: ignore[no-untyped-def]
    return poster_for(client, app)


def _messenger(*events: dict[str, Any]) -> bytes:
    return json.dumps({"object": "page", "entry": [{"id": "1234567890321", "time": 1, "messaging": list(events)}]
                       }).encode()


def _event(message: dict[str, Any], key: str = "message", timestamp: int = 1700000000000) -> dict[str, Any]:
    return {"sender": {"id": "7001"}, "recipient": {"id": "1234567890321"}, "timestamp": timestamp, key: message}


def test_a_removal_blanks_the_text_in_the_mention_timeline_raw_payload_and_dead_letters(
        poster: PlatformPoster, api: ApiClient, session: Session) -> None:
    broken = _event({"text": "geen mid"})  # unparseable: the whole body is kept as a dead letter
    first = poster.post("fb", _messenger(_event({"mid": MID, "text": FIRST}), broken)).json()
    assert (first["accepted"], first["dead_lettered"]) == (1, 1)
    ref = first["cases"][0]
    edit = poster.post("fb", _messenger(_event({"mid": MID, "text": EDITED}, "message_edit"))).json()
    assert edit["updated"] == 1
    assert places_holding(session, FIRST) and places_holding(session, EDITED)

    removal = poster.post("fb", _messenger(_event({"mid": MID, "is_deleted": True}, timestamp=1700000100000)))

    assert removal.json()["updated"] == 1
    session.expire_all()
    assert places_holding(session, "88120457") == []
    case = api.get(f"/api/v1/cases/{ref}")
    assert "88120457" not in case.text
    [served] = case.json()["mentions"]
    assert (served["text"], served["removed_at"]) == ("", "2023-11-14T22:15:00Z")
    assert [e["data"] for e in case.json()["timeline"] if e["type"] == "mention_removed"] == [{"external_id": MID}]
    # The dead letter keeps the rest of its body: the unparseable event can still be replayed.
    [letter] = session.scalars(select(InboundDeadLetter)).all()
    kept = json.loads(letter.body)["entry"][0]["messaging"]
    assert [e["message"]["text"] for e in kept] == ["", "geen mid"]
    assert letter.status == "pending"


def test_an_edit_or_a_repeat_arriving_after_the_removal_never_brings_the_text_back(
        poster: PlatformPoster, api: ApiClient, session: Session) -> None:
    ref = poster.post("fb", _messenger(_event({"mid": MID, "text": FIRST}))).json()["cases"][0]
    poster.post("fb", _messenger(_event({"mid": MID, "is_deleted": True})))
    late_edit = poster.post("fb", _messenger(_event({"mid": MID, "text": EDITED}, "message_edit"))).json()
    repeat = poster.post("fb", _messenger(_event({"mid": MID, "text": FIRST}))).json()
    assert (late_edit["duplicates"], late_edit["updated"]) == (1, 0)
    assert (repeat["duplicates"], repeat["accepted"]) == (1, 0)
    assert [m["text"] for m in api.get(f"/api/v1/cases/{ref}").json()["mentions"]] == [""]
    session.expire_all()
    assert places_holding(session, "88120457") == []


def test_the_agents_pages_and_queue_search_never_show_removed_text(
        poster: PlatformPoster, client: TestClient, sessions: sessionmaker[Session]) -> None:
    make_user(sessions, "ann")
    login(client, "ann")
    ref = poster.post("fb", _messenger(_event({"mid": MID, "text": FIRST}))).json()["cases"][0]
    assert "88120457" in client.get(f"/ui/cases/{ref}").text
    assert ref in client.get("/ui/", params={"q": "88120457"}).text  # the queue index learned the text

    poster.post("fb", _messenger(_event({"mid": MID, "is_deleted": True})))

    page = client.get(f"/ui/cases/{ref}")
    assert page.status_code == 200 and "88120457" not in page.text
    assert ref not in client.get("/ui/", params={"q": "88120457"}).text  # ... and forgot it
    assert ref in client.get("/ui/").text  # the case itself is still in the queue
