"""A synthetic storm for the incident tests: a rule folder that watches for outages, a steady week
of background, and 300 outage posts in 20 minutes on two platforms."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path

from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from app.db import transaction
from app.ingest.service import ingest_mentions
from app.ingest.standard import ParsedItem
from app.mentions.model import Author, Mention
from app.mentions.stored import StoredMention
from app.rules import RuleSet
from tests.conftest import BASIC_RULES
from tests.ingest.platform_support import platform_rules

WINDOW, FACTOR, MIN_COUNT, CALM = timedelta(minutes=10), 4, 20, timedelta(minutes=30)
INCIDENTS_YAML = f"""\
incidents:
  - id: outage
    title: Storing
    lists: [outage]
    window: {int(WINDOW.total_seconds() // 60)}m
    factor: {FACTOR}
    min_count: {MIN_COUNT}
    calm: {int(CALM.total_seconds() // 60)}m
"""
SUBSCRIBED = """\
  - id: billing
    name: Facturatie
    calendar: always
    webhook:
      url: "http://127.0.0.1:9/hooks"
      secret_env: TEST_BILLING_WEBHOOK_SECRET
      events: [case.handed_off, incident.opened, incident.updated, incident.closed]
"""
STORM_TEXT = "Storing! Geen internet in heel Utrecht"
MATCHING_BACKGROUND = "Kleine storing gisteren, nu weer ok"
OTHER_BACKGROUND = "Vraag over mijn factuur van oktober"
STORM_START = datetime(2026, 11, 30, 9, 0, tzinfo=UTC)  # a Monday
HISTORY_START = STORM_START - timedelta(weeks=1)
STORM_POSTS, STORM_EVERY = 300, timedelta(seconds=4)  # 300 posts in 20 minutes


def storm_rules(target: Path, *, subscribe: bool = True) -> Path:
    """BASIC_RULES with the platform connectors, an outage watch and billing subscribed to incidents."""
    folder = platform_rules(BASIC_RULES, target)
    (folder / "incidents.yaml").write_text(INCIDENTS_YAML)
    if subscribe:
        departments = (folder / "departments.yaml").read_text()
        start = departments.index("  - id: billing")
        (folder / "departments.yaml").write_text(departments[:start] + SUBSCRIBED)
    return folder


@dataclass(frozen=True)
class Post:
    at: datetime
    connector: str
    mention: Mention


def x_post(n: int, text: str, at: datetime) -> Post:
    return Post(at, "xx", Mention(external_id=str(1_900_000_000_000_000_000 + n), channel="x", text=text,
                                  author=Author(id=f"x{n}", handle=f"klant{n}")))


def telegram_post(n: int, text: str, at: datetime) -> Post:
    return Post(at, "tg", Mention(external_id=f"{700_000 + n}:{n}", channel="telegram", text=text,
                                  conversation_id=str(700_000 + n), author=Author(id=str(700_000 + n))))


def background(start: datetime, hours: int, *, matching_per_hour: int, other_per_hour: int) -> list[Post]:
    """A steady background: every hour the same number of matching and other posts, spread over the hour."""
    posts = []
    for hour in range(hours):
        per_hour = [MATCHING_BACKGROUND] * matching_per_hour + [OTHER_BACKGROUND] * other_per_hour
        for k, text in enumerate(per_hour):
            n = 10_000_000 + hour * 100 + k
            posts.append(x_post(n, text, start + timedelta(hours=hour, minutes=60 * k / len(per_hour))))
    return posts


def storm(start: datetime = STORM_START, count: int = STORM_POSTS, every: timedelta = STORM_EVERY,
          text: str = STORM_TEXT) -> list[Post]:
    """`count` outage posts `every` apart from `start`, alternately on X and on Telegram."""
    return [(x_post if i % 2 == 0 else telegram_post)(i, text, start + every * i) for i in range(count)]


@dataclass
class Feed:
    """Ingests posts as their time comes, the way webhooks would deliver them; remembers each
    post's case."""

    sessions: sessionmaker[Session]
    ruleset: RuleSet
    case_of: dict[str, int] = field(default_factory=dict)

    def ingest(self, posts: Iterable[Post]) -> None:
        for post in posts:
            with transaction(self.sessions) as session:
                ingest_mentions(session, ruleset=self.ruleset, connector=post.connector,
                                items=[ParsedItem(post.mention, {"text": post.mention.text})], received_at=post.at)
                session.flush()
            self.case_of[post.mention.external_id] = self._case_id(post)

    def _case_id(self, post: Post) -> int:
        with self.sessions() as session:
            return int(session.scalar(select(StoredMention.case_id).where(
                StoredMention.connector == post.connector, StoredMention.external_id == post.mention.external_id)))
