"""Language detection at ingest for a `standard` connector (the listening tool), through the real
webhook, database and a rule on `language`."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select
from sqlalchemy.orm import Session

from app.mentions.stored import StoredMention
from tests.conftest import BASIC_RULES
from tests.support import ApiClient, Signer, mention, post_mentions

LANGUAGE_RULES = """\
rules:
  - id: english
    order: 5
    description: English mentions are answered in English
    when: {language: {eq: en}}
    then: {tags: [english]}
    continue: true
"""


@pytest.fixture
def rules_dir(tmp_path: Path) -> Path:
    target = shutil.copytree(BASIC_RULES, tmp_path / "rules")
    (target / "rules" / "language.yaml").write_text(LANGUAGE_RULES)
    return target


def test_a_mention_without_a_language_gets_the_detected_one_and_rules_see_it(
        client: TestClient, signer: Signer, api: ApiClient, session: Session) -> None:
    sent = [mention("My mobile data keeps dropping since this morning, please help", id="no-lang-en"),
            mention("Mijn internet doet het al de hele dag niet, wat is er aan de hand?", id="no-lang-nl"),
            mention("My mobile data keeps dropping since this morning, please help", id="given", language="de"),
            mention("ok", id="too-short")]
    refs = post_mentions(client, signer, {"mentions": sent}).json()["cases"]
    stored = {m.external_id: m.language for m in session.scalars(select(StoredMention))}
    # detected when the tool sends none; what the tool sends is kept; too little text stays unknown
    assert stored == {"no-lang-en": "en", "no-lang-nl": "nl", "given": "de", "too-short": None}
    tags = [api.get(f"/api/v1/cases/{ref}").json()["tags"] for ref in refs]
    assert ["english" in t for t in tags] == [True, False, False, False]
