"""Every mention carries the account of ours it reached, whatever the platform: stored with the
mention, kept on the case with its display name from connectors.yaml and filtered on in the API
(rules on `account`: tests/rules/test_evaluate.py and the example folder's tests)."""

from __future__ import annotations

from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from app.mentions.stored import StoredMention
from tests.conftest import BASIC_RULES
from tests.ingest.platform_support import PlatformPoster, platform_rules, poster_for
from tests.support import ApiClient, Signer, make_user_token, mention, post_mentions

# sample, connector, the account id the platform puts in it, its name in connectors.yaml
ACCOUNTS = [
    ("meta_page_feed_post.json", "fb", "{page-id}", None),  # entry.id: the Page
    ("facebook_page_rating_review.json", "fb", "1234567890321", "Telco NL Facebook"),
    ("instagram_mention_comment.json", "fb", "17841405726653026", "Telco NL Instagram"),  # entry.id
    ("whatsapp_message.json", "wa", "106540352242922", "Telco NL Zakelijk"),  # metadata.phone_number_id
    ("x_tweet_create_events.json", "xx", "1603419180975409153", "@TelcoZakelijk"),  # for_user_id
    ("x_direct_message_events.json", "xx", "4337869213", None),
    ("telegram_edited_message.json", "tg", "7000000001", "@TelcoBot"),  # the connector's `account`
]


@pytest.fixture
def rules_dir(tmp_path: Path) -> Path:
    return platform_rules(BASIC_RULES, tmp_path / "rules")


@pytest.fixture
def poster(client: TestClient, app) -> PlatformPoster:  # type: ignore[no-untyped-def]
    return poster_for(client, app)


@pytest.fixture
def api(client: TestClient, sessions: sessionmaker[Session]) -> ApiClient:
    return ApiClient(client, make_user_token(sessions, "acc", "agent"))


@pytest.mark.parametrize(("sample", "connector", "account", "name"), ACCOUNTS)
def test_each_platform_names_the_account_the_customer_wrote_to(
        poster: PlatformPoster, session: Session, api: ApiClient, sample: str, connector: str, account: str,
        name: str | None) -> None:
    response = poster.sample(connector, sample)
    assert response.status_code == 200, response.text
    [ref] = response.json()["cases"]
    [stored] = session.scalars(select(StoredMention).where(StoredMention.connector == connector))
    assert stored.account == account
    case = api.get(f"/api/v1/cases/{ref}").json()
    assert (case["account"], case["account_name"]) == (account, name)
    assert case["mentions"][0]["account"] == account


def test_a_standard_body_may_name_the_account_and_the_api_filters_by_it(
        client: TestClient, signer: Signer, api: ApiClient) -> None:
    named = post_mentions(client, signer, mention("hallo", account="brand-nl")).json()["cases"][0]
    other = post_mentions(client, signer, mention("hallo", account="jobs-nl")).json()["cases"][0]
    unnamed = post_mentions(client, signer, mention("hallo")).json()["cases"][0]
    assert api.get(f"/api/v1/cases/{unnamed}").json()["account"] is None

    def refs(query: str) -> set[str]:
        response = api.get(f"/api/v1/cases?{query}")
        assert response.status_code == 200, response.text
        return {c["ref"] for c in response.json()["items"]}

    assert refs("account=brand-nl") == {named}
    assert refs("account=brand-nl&account=jobs-nl") == {named, other}
    assert refs("account=nobody") == set()
    assert {named, other, unnamed} <= refs("")
    bad = post_mentions(client, signer, mention("hallo", account=""))
    assert bad.status_code == 422 and bad.json()["errors"][0]["field"] == "account"

