"""Shared set-up for platform connector tests: a rule folder with one connector of each kind, the
secrets the app uses, and requests signed exactly as each platform signs them."""

from __future__ import annotations

import shutil
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from fastapi.testclient import TestClient
from httpx import Response

from app.ingest.verification import hub_signature, x_signature

# Byte-identical copies of shared/connectors/samples (test_samples_match_shared checks them).
SAMPLES = Path(__file__).resolve().parent / "samples"
SHARED_SAMPLES = Path(__file__).resolve().parents[3] / "shared" / "connectors" / "samples"

CONNECTORS_YAML = """connectors:
  - {name: listening-tool, kind: standard, secret_env: TEST_LISTENING_SECRET}
  - {name: fb, kind: meta, app_secret_env: TEST_META_APP_SECRET, verify_token_env: TEST_META_VERIFY_TOKEN,
     access_token_env: TEST_META_PAGE_TOKEN,
     accounts: {"1234567890321": Telco NL Facebook, "17841405726653026": Telco NL Instagram}}
  - {name: wa, kind: whatsapp, app_secret_env: TEST_META_APP_SECRET, verify_token_env: TEST_META_VERIFY_TOKEN,
     access_token_env: TEST_WHATSAPP_TOKEN, accounts: {"106540352242922": Telco NL Zakelijk}}
  - {name: xx, kind: x, consumer_secret_env: TEST_X_CONSUMER_SECRET, access_token_env: TEST_X_TOKEN,
     accounts: {"1603419180975409153": "@TelcoZakelijk"}}
  - {name: xr, kind: x, consumer_secret_env: TEST_X_CONSUMER_SECRET, include_retweets: true}
  - {name: tg, kind: telegram, secret_token_env: TEST_TELEGRAM_SECRET, access_token_env: TEST_TELEGRAM_BOT_TOKEN,
     account: "7000000001", accounts: {"7000000001": "@TelcoBot"}}
"""


def platform_rules(base: Path, target: Path) -> Path:
    """A copy of the rule folder `base` with the platform connectors above."""
    shutil.copytree(base, target)
    (target / "connectors.yaml").write_text(CONNECTORS_YAML)
    return target


@dataclass
class PlatformPoster:
    """Posts raw bytes to a connector, signed the way its platform signs."""

    client: TestClient
    meta_secret: str
    x_secret: str
    telegram_token: str

    def headers(self, connector: str, body: bytes) -> dict[str, str]:
        if connector in ("fb", "wa"):
            return {"x-hub-signature-256": hub_signature(self.meta_secret, body)}
        if connector in ("xx", "xr"):
            return {"x-twitter-webhooks-signature": x_signature(self.x_secret, body)}
        if connector == "tg":
            return {"x-telegram-bot-api-secret-token": self.telegram_token}
        raise KeyError(connector)

    def post(self, connector: str, body: bytes, headers: dict[str, str] | None = None) -> Response:
        sent = {"content-type": "application/json", **(self.headers(connector, body) if headers is None else headers)}
        return self.client.post(f"/webhooks/{connector}", content=body, headers=sent)

    def sample(self, connector: str, name: str) -> Response:
        return self.post(connector, (SAMPLES / name).read_bytes())


def feed_post_with_ids(post_id: str = "1234567890321_901097836652708", page_id: str = "1234567890321") -> bytes:
    """`meta_page_feed_post.json` with ids in place of the documentation's `{placeholders}` (a reply
    goes to the post's id, which must then be a real Graph id)."""
    return ((SAMPLES / "meta_page_feed_post.json").read_bytes().replace(b"{page-post-id}", post_id.encode())
            .replace(b"{page-id}", page_id.encode()).replace(b"{user-id}", b"5550001"))


def poster_for(client: TestClient, app: Any) -> PlatformPoster:
    """A poster signing with the secrets the app under test uses (the platform_rules connectors')."""
    secrets = app.state.secrets
    return PlatformPoster(client, secrets.get("TEST_META_APP_SECRET"), secrets.get("TEST_X_CONSUMER_SECRET"),
                          secrets.get("TEST_TELEGRAM_SECRET"))
