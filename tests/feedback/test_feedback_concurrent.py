"""Two answers for one case at the same moment through a live `webcare serve`: both are accepted,
one after the other under the case lock (the later one replaces the earlier and names it), and
exactly one answer is stored."""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from tests.cases.test_concurrent_actions import billing_case, case_of, posts_at_once, service  # noqa: F401
from tests.test_service_e2e import run

pytestmark = pytest.mark.slow


def test_two_answers_at_once_are_serialised(service: dict[str, Any]) -> None:  # noqa: F811
    made = run(service, "tokens", "create", "--integration", "survey-tool")
    assert made.returncode == 0, made.stderr
    survey = made.stdout.strip()
    ref = billing_case(service)
    answers = posts_at_once(service, [(survey, f"/api/v1/cases/{ref}/feedback", {"score": score}, {})
                                      for score in (2, 9)])
    assert [a.status_code for a in answers] == [200, 200], [a.text for a in answers]
    assert sorted(a.json()["replaced"] for a in answers) == [False, True]
    entries = [e["data"] for e in case_of(service, ref)["timeline"] if e["type"] == "feedback_received"]
    first, second = entries
    assert first["replaces"] is None and second["replaces"]["score"] == first["score"]
    # the integration token may not even read the case it answered for
    assert httpx.get(f"{service['base']}/api/v1/cases/{ref}",
                     headers={"authorization": f"Bearer {survey}"}).status_code == 403
