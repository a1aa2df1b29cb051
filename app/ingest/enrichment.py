"""Completing mentions after the commit: Instagram `mentions` webhooks carry only ids, so a worker
reads the comment or caption from the Graph API and, if nobody has touched the case yet, routes
the case again on the real text.

The case is visible from the start (with an empty text). Jobs are leased work (`app.jobs.leases`):
claimed with a lease, the Graph API called with no transaction open, the outcome recorded in
another short transaction. A failed read is retried with doubling delays and jitter, or when Graph's
`Retry-After` says (transport errors, 429, 5xx and Graph's transient codes); a refusal, a missing
token or too many attempts mark the job `failed` and say so on the case's timeline.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from app.cases.changes import record_event
from app.cases.locking import lock_existing_case
from app.cases.models import Case
from app.ingest.models import MentionEnrichment
from app.ingest.platform_ids import InvalidPlatformId, graph_id
from app.ingest.reclassify import reclassify_case, untouched
from app.jobs.leases import BatchWorker, due_condition, holds_lease, release, take_lease
from app.jobs.retry import RetrySchedule, Rng
from app.mentions.language import detect_language
from app.mentions.stored import StoredMention
from app.rules.holder import RuleSetHolder
from app.secrets import SecretStore

log = logging.getLogger(__name__)
GRAPH_URL = "https://graph.facebook.com/v21.0"
TRANSIENT_GRAPH_CODES = {1, 2, 4, 17, 32, 341, 613}
COMMENT_FIELDS = "id,text,timestamp,username,media{id,permalink}"
MEDIA_FIELDS = "id,caption,media_type,media_url,permalink,timestamp,username"


# -- pure ------------------------------------------------------------------------------------------

def instagram_mention_request(extra: dict[str, Any]) -> tuple[str, dict[str, str]]:
    """The Graph API path and query that read an Instagram mention (a comment or a caption). The
    ids, from the webhook body, are checked as Graph ids (InvalidPlatformId otherwise): one goes
    into the path, the others into a field expression they could otherwise rewrite."""
    account = graph_id(extra.get("account_id"), "account_id")
    if extra.get("comment_id"):
        comment_id = graph_id(extra["comment_id"], "comment_id")
        return f"/{account}", {"fields": f"mentioned_comment.comment_id({comment_id}){{{COMMENT_FIELDS}}}"}
    media_id = graph_id(extra.get("media_id"), "media_id")
    return f"/{account}", {"fields": f"mentioned_media.media_id({media_id}){{{MEDIA_FIELDS}}}"}


@dataclass(frozen=True)
class MentionContent:
    """What the Graph API told us about a mention."""

    text: str
    handle: str | None = None
    url: str | None = None
    posted_at: datetime | None = None
    attachments: list[dict[str, Any]] = field(default_factory=list)


def instagram_mention_content(document: dict[str, Any]) -> MentionContent:
    """The content in a `mentioned_comment` or `mentioned_media` answer; ValueError when absent."""
    if isinstance(document.get("mentioned_comment"), dict):
        node = document["mentioned_comment"]
        media = node.get("media") if isinstance(node.get("media"), dict) else {}
        text = node.get("text")
        url = media.get("permalink")
    elif isinstance(document.get("mentioned_media"), dict):
        node = document["mentioned_media"]
        text = node.get("caption") or ""
        url = node.get("permalink")
    else:
        raise ValueError("the answer holds neither mentioned_comment nor mentioned_media")
    if not isinstance(text, str):
        raise ValueError("the answer holds no text")
    attachments = []
    if isinstance(node.get("media_url"), str):
        kind = "video" if node.get("media_type") == "VIDEO" else "image"
        attachments.append({"type": kind, "url": node["media_url"], "id": str(node.get("id"))})
    username = node.get("username")
    return MentionContent(text=text, handle=f"@{username}" if isinstance(username, str) else None,
                          url=url if isinstance(url, str) else None, posted_at=_graph_time(node.get("timestamp")),
                          attachments=attachments)


def _graph_time(value: Any) -> datetime | None:
    if not isinstance(value, str):
        return None
    try:
        return datetime.strptime(value, "%Y-%m-%dT%H:%M:%S%z").astimezone(UTC)
    except ValueError:
        return None


def is_transient(status: int, body: Any) -> bool:
    """Whether a failed Graph call is worth retrying."""
    if status == 429 or status >= 500:
        return True
    error = body.get("error") if isinstance(body, dict) else None
    return isinstance(error, dict) and (bool(error.get("is_transient")) or error.get("code") in TRANSIENT_GRAPH_CODES)


# -- database --------------------------------------------------------------------------------------

@dataclass(frozen=True)
class Job:
    id: int
    mention_id: int
    connector: str
    kind: str
    attempts: int
    extra: dict[str, Any]


@dataclass(frozen=True)
class Outcome:
    job: Job
    content: MentionContent | None = None
    error: str | None = None
    retry: bool = False
    retry_after: str | None = None


def claim_enrichments(session: Session, *, now: datetime, worker_id: str, lease: timedelta, limit: int) -> list[Job]:
    """Lease up to `limit` due jobs (pending and due, or leased with the lease run out)."""
    due = due_condition(MentionEnrichment, now=now, waiting="pending")
    rows = list(session.execute(
        select(MentionEnrichment, StoredMention.extra)
        .join(StoredMention, StoredMention.id == MentionEnrichment.mention_id)
        .where(due)
        .order_by(MentionEnrichment.next_attempt_at, MentionEnrichment.id).limit(limit)
        .with_for_update(skip_locked=True, of=MentionEnrichment)))
    jobs = []
    for job, extra in rows:
        take_lease(job, worker_id=worker_id, now=now, lease=lease)
        jobs.append(Job(job.id, job.mention_id, job.connector, job.kind, job.attempts, dict(extra or {})))
    return jobs


def record_enrichment(session: Session, outcome: Outcome, *, worker_id: str, rules: RuleSetHolder, now: datetime,
                      schedule: RetrySchedule, rng: Rng) -> None:
    """Write one outcome (skipped when this worker no longer holds the lease). A transient failure
    is tried again as `schedule` says until its attempts run out."""
    job = session.get(MentionEnrichment, outcome.job.id, with_for_update=True)
    if job is None or not holds_lease(job, worker_id=worker_id, status="pending"):
        return
    row = session.get_one(StoredMention, job.mention_id)
    case = lock_existing_case(session, row.case_id)
    job.attempts += 1
    release(job, now=now)
    if outcome.content is not None and row.removed_at is not None:
        job.status, job.last_error = "done", None  # removed meanwhile: its text is never stored again
        return
    if outcome.content is not None:
        _complete(session, row, case, outcome.content, rules=rules, now=now)
        job.status, job.last_error = "done", None
        return
    job.last_error = outcome.error
    if outcome.retry and job.attempts < schedule.max_attempts:
        job.next_attempt_at = schedule.next_attempt_at(job.attempts, now=now, rng=rng, retry_after=outcome.retry_after)
        return
    job.status = "failed"
    row.extra = {**(row.extra or {}), "enrichment": {**(row.extra or {}).get("enrichment", {}), "state": "failed"}}
    record_event(session, case, type="enrichment_failed", at=now, actor_type="system",
                 data={"external_id": row.external_id, "attempts": job.attempts, "error": outcome.error})


def _complete(session: Session, row: StoredMention, case: Case, content: MentionContent, *, rules: RuleSetHolder,
              now: datetime) -> None:
    row.text = content.text
    row.author_handle = content.handle or row.author_handle
    row.url = content.url or row.url
    row.posted_at = content.posted_at or row.posted_at
    row.attachments = content.attachments or row.attachments
    row.language = row.language or (detect_language(content.text) if content.text.strip() else None)
    row.extra = {**(row.extra or {}), "enrichment": {**(row.extra or {}).get("enrichment", {}), "state": "done"}}
    fresh = untouched(session, case, row)
    record_event(session, case, type="mention_enriched", at=now, actor_type="system",
                 data={"external_id": row.external_id, "text": row.text, "reclassified": fresh})
    if fresh:
        reclassify_case(session, case, row, ruleset=rules.current, now=now)


# -- the worker ------------------------------------------------------------------------------------

class EnrichmentWorker(BatchWorker[Job, Outcome]):
    """Completes mentions flagged for enrichment; safe to run in every process at once (a job is
    leased by one worker at a time; a crashed worker's lease runs out and the job is claimed again).
    A transient failure is retried after `base_delay` seconds, doubling up to `max_delay`, with
    jitter, or when Graph's `Retry-After` says; `max_attempts` in all."""

    name = "enrichment"

    def __init__(self, sessions: sessionmaker[Session], rules: RuleSetHolder, secrets: SecretStore, *,
                 worker_id: str, client: httpx.AsyncClient | None = None, graph_url: str = GRAPH_URL,
                 batch_size: int = 20, lease_seconds: float = 60.0, timeout: float = 10.0,
                 idle_seconds: float = 2.0, max_attempts: int = 8, base_delay: float = 30.0,
                 max_delay: float = 3600.0):
        schedule = RetrySchedule.doubling(timedelta(seconds=base_delay), cap=timedelta(seconds=max_delay),
                                          attempts=max_attempts)
        super().__init__(sessions, worker_id=worker_id, schedule=schedule, client=client, batch_size=batch_size,
                         lease_seconds=lease_seconds, timeout=timeout, idle_seconds=idle_seconds)
        self.rules, self.secrets = rules, secrets
        self.graph_url = graph_url.rstrip("/")

    def claim(self, session: Session, *, now: datetime) -> list[Job]:
        return claim_enrichments(session, now=now, worker_id=self.worker_id, lease=self.lease, limit=self.batch_size)

    async def work(self, client: httpx.AsyncClient, job: Job) -> Outcome:
        return await self._read(client, job)

    def record(self, session: Session, outcome: Outcome, *, now: datetime) -> None:
        record_enrichment(session, outcome, worker_id=self.worker_id, rules=self.rules, now=now,
                          schedule=self.schedule, rng=self.rng)

    async def _read(self, client: httpx.AsyncClient, job: Job) -> Outcome:
        connector = self.rules.current.connectors.get(job.connector)
        token = self.secrets.optional(connector.access_token_env) if connector else None
        if token is None:
            return Outcome(job, error=f"connector {job.connector} has no access token to read the mention")
        try:
            path, params = instagram_mention_request(job.extra)
        except InvalidPlatformId as exc:
            return Outcome(job, error=str(exc))
        try:
            response = await client.get(self.graph_url + path, params=params,
                                        headers={"authorization": f"Bearer {token}"}, timeout=self.timeout)
        except httpx.HTTPError as exc:
            return Outcome(job, error=f"{type(exc).__name__}: {exc}", retry=True)
        try:
            body = response.json()
        except ValueError:
            body = None
        if response.status_code != 200:
            return Outcome(job, error=f"HTTP {response.status_code}: {response.text[:300]}",
                           retry=is_transient(response.status_code, body),
                           retry_after=response.headers.get("retry-after"))
        try:
            return Outcome(job, content=instagram_mention_content(body if isinstance(body, dict) else {}))
        except ValueError as exc:
            return Outcome(job, error=str(exc))
