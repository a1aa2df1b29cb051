"""`webcare rules suggest`: terms that separate the misrouted mentions from the rest, written as a
patch to the rule folder. On a history where a missing keyword ("wifi") sends outage reports to the
default, the command finds it, and the patch, applied, routes such reports to network."""

from __future__ import annotations

import shutil
import subprocess
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy.orm import Session, sessionmaker

from app.db import make_engine, make_sessionmaker
from app.kernel.clock import utc_now
from app.learning.patch import append_items, changes_for, unified_diff
from app.learning.suggest import Suggestion, Term, separating_terms
from app.learning.terms import ngrams
from app.mentions.model import Mention
from app.migrate import upgrade_to_head
from app.rules import classify, load_ruleset
from tests.conftest import BASIC_RULES
from tests.dbutil import scratch_database_url
from tests.learning.support import Step, seed, webcare

MONDAY = datetime(2026, 3, 2, 10, 0, tzinfo=UTC)
WIFI = ["mijn wifi doet het niet meer", "WiFi valt steeds weg thuis", "de wifi is super traag vandaag",
        "wifi kapot sinds gisteren??", "hoezo werkt de wifi niet", "wifi weg, modem knippert"]
OTHERS = ["bedankt voor de snelle hulp", "hallo, ik heb een vraag", "wanneer gaat de winkel open",
          "top service, dank jullie wel", "de factuur is te hoog", "mijn rekening klopt niet",
          "factuur dubbel betaald", "storing in Utrecht", "geen internet in Zwolle", "waar vind ik de handleiding",
          "hoe zeg ik mijn abonnement op", "leuke reclame"]


def test_terms_are_folded_unigrams_and_bigrams() -> None:
    # unigrams: not "2x" (two characters) nor "100" (digits); bigrams: none with "100"
    assert ngrams("WiFi valt 2x weg, 100% zeker!") == ["wifi", "valt", "weg", "zeker", "wifi valt", "valt 2x",
                                                     "2x weg"]
    assert ngrams("Één storing") == ["een", "storing", "een storing"]


def test_the_term_that_separates_wins_and_common_or_rare_words_do_not() -> None:
    positives = [*WIFI[:5], "ik heb een vraag over mijn wifi"]
    negatives = [*OTHERS, "mijn wifi is top"]  # once elsewhere still separates
    terms = separating_terms(positives, negatives)
    assert terms[0] == Term("wifi", terms[0].score, 6, 1) and terms[0].score > 2
    chosen = {t.term for t in terms}
    assert not chosen & {"mijn", "het", "een", "niet"}  # as common elsewhere
    assert "gisteren" not in chosen  # in one positive only: below the minimum support
    assert all("wifi" not in t.term.split(" ") for t in terms[1:])  # no bigram repeats a chosen word
    assert separating_terms(positives, negatives, known=lambda t: t == "wifi") == []  # already in a list
    assert separating_terms(positives[:2], negatives) == []  # too few cases: nothing


def test_items_are_appended_in_the_style_of_the_file() -> None:
    flow = "list: outage\nitems: [storing, \"geen internet\"]   # the basics\n"
    assert append_items(flow, ["wifi", "valt weg"]) == \
        "list: outage\nitems: [storing, \"geen internet\", \"wifi\", \"valt weg\"]   # the basics\n"
    block = "list: outage\nitems:\n  - storing\n  - geen internet\ninclude: [x]\n"
    assert append_items(block, ["wifi"]) == "list: outage\nitems:\n  - storing\n  - geen internet\n  - \"wifi\"\n" \
        "include: [x]\n"
    with pytest.raises(ValueError):
        append_items("list: empty\ninclude: [x]\n", ["wifi"])


def test_a_department_no_rule_decides_gets_a_new_list_and_rule(tmp_path: Path) -> None:
    folder = tmp_path / "rules"
    shutil.copytree(BASIC_RULES, folder)
    ruleset = load_ruleset(folder)
    suggestion = Suggestion("webcare", 4, (Term("bedankt", 3.0, 4, 0),), ("WC-000009",))
    changes = changes_for(ruleset, [suggestion], lambda path: (folder / path).read_text())
    assert [(c.path, c.before) for c in changes] == [("lists/suggested_webcare.yaml", None),
                                                    ("rules/suggested-webcare.yaml", None)]
    diff = unified_diff(changes, "rules")
    assert "--- /dev/null\n+++ b/rules/lists/suggested_webcare.yaml" in diff
    for change in changes:
        (folder / change.path).write_text(change.after)
    patched = load_ruleset(folder)
    assert patched.rules[-1].id == "suggested-webcare" and patched.rules[-1].order > patched.rules[-2].order
    assert classify(patched, Mention("1", "x", "Bedankt!"), MONDAY).deciding_rule == "suggested-webcare"


@pytest.fixture
def history(tmp_path: Path) -> Iterator[dict[str, str]]:
    """Outage reports that say "wifi" fall to the default and agents hand them to network; two
    are caught by the billing rule and billing reroutes them to network; the rest stay."""
    with scratch_database_url(tmp_path) as url:
        engine = make_engine(url)
        upgrade_to_head(engine)
        sessions: sessionmaker[Session] = make_sessionmaker(engine)
        ruleset = load_ruleset(BASIC_RULES)
        moved = [(text, [Step("network")]) for text in WIFI]
        bounced = [(text, [Step("network", by="billing")]) for text in
                   ("factuur betaald maar de wifi doet niks", "rekening voldaan, wifi nog steeds stuk")]
        seed(sessions, ruleset, [*moved, *bounced, *((text, []) for text in OTHERS)],
             start=utc_now() - timedelta(days=3))
        engine.dispose()
        yield {"WEBCARE_DATABASE_URL": url, "WEBCARE_VAR_DIR": str(tmp_path / "var")}


def test_rules_suggest_finds_the_missing_keyword_and_its_patch_routes_it(
        history: dict[str, str], tmp_path: Path) -> None:
    folder = tmp_path / "work" / "routing_rules"
    shutil.copytree(BASIC_RULES, folder)
    before = load_ruleset(folder)
    assert classify(before, Mention("n", "x", "de wifi ligt plat"), MONDAY).department == "webcare"
    done = webcare(history, "rules", "suggest", str(folder.relative_to(tmp_path / "work")), cwd=tmp_path / "work")
    assert done.returncode == 0, done.stderr
    assert "network: 8 cases moved there" in done.stderr and "'wifi' (8/8, elsewhere 0" in done.stderr
    patch = done.stdout
    assert patch.startswith("--- a/routing_rules/lists/outage.yaml\n+++ b/routing_rules/lists/outage.yaml\n")
    assert '+items: [storing, "geen internet", "verbinding*", "wifi"' in patch
    applied = subprocess.run(["git", "apply", "-"], input=patch, text=True, cwd=tmp_path / "work",
                             capture_output=True)
    assert applied.returncode == 0, applied.stderr
    after = load_ruleset(folder)
    assert classify(after, Mention("n", "x", "de wifi ligt plat"), MONDAY).department == "network"
    assert classify(after, Mention("n", "x", "Mijn factuur klopt niet"), MONDAY).department == "billing"


def test_rules_suggest_without_history_suggests_nothing(tmp_path: Path) -> None:
    with scratch_database_url(tmp_path) as url:
        upgrade_to_head(make_engine(url))
        done = webcare({"WEBCARE_DATABASE_URL": url}, "rules", "suggest", str(BASIC_RULES))
    assert done.returncode == 0 and done.stdout == "" and "nothing to suggest" in done.stderr
