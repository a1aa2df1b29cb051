"""Scoring labelled outcomes (app.rules.evaluation): every figure below is worked out by hand from
the table."""

from __future__ import annotations

from app.rules.evaluation import Outcome, Share, report, score

# line, expected, got, deciding rule, ambiguous
TABLE = [
    (1, "network", "network", "outage", False),
    (2, "network", "network", "outage", False),
    (3, "network", "webcare", None, False),       # fell to the default
    (4, "network", "billing", "billing", False),  # misrouted by a rule
    (5, "billing", "billing", "billing", False),
    (6, "billing", "billing", "billing", False),
    (7, "sales", "billing", "billing", False),
    (8, "webcare", "webcare", None, False),
    (9, "sales", "sales", "sales-lead", True),
    (10, "billing", "network", "outage", True),
]
OUTCOMES = [Outcome(line=n, text=f"mention {n}", expected=e, got=g, deciding_rule=r, ambiguous=a)
            for n, e, g, r, a in TABLE]
DEPARTMENTS = ["webcare", "network", "billing", "sales", "privacy"]


def test_accuracy_confusion_precision_and_recall_of_the_clear_cut_mentions() -> None:
    clear = report(OUTCOMES, DEPARTMENTS).clear_cut
    # lines 1, 2, 5, 6, 8 right out of 1-8
    assert clear.accuracy == Share(5, 8)
    assert clear.confusion == {"webcare": {"webcare": 1},
                               "network": {"webcare": 1, "network": 2, "billing": 1},
                               "billing": {"billing": 2},
                               "sales": {"billing": 1}}
    figures = {d.department: (d.recall, d.precision) for d in clear.departments}
    # privacy occurs nowhere, so it is not listed; the order is the folder's
    assert list(figures) == ["webcare", "network", "billing", "sales"]
    assert figures["network"] == (Share(2, 4), Share(2, 2))   # 2 of 4 network mentions; all sent there belong
    assert figures["billing"] == (Share(2, 2), Share(2, 4))   # lines 4 and 7 were sent to billing wrongly
    assert figures["webcare"] == (Share(1, 1), Share(1, 2))   # line 3 fell to the default
    assert figures["sales"] == (Share(0, 1), Share(0, 0))
    assert figures["sales"][1].rate is None                    # nothing sent to sales: no precision
    assert [(m.line, m.deciding_rule) for m in clear.misses] == [(3, None), (4, "billing"), (7, "billing")]


def test_ambiguous_mentions_are_scored_apart_and_overall_counts_both() -> None:
    result = report(OUTCOMES, DEPARTMENTS)
    assert result.ambiguous.accuracy == Share(1, 2)
    assert result.ambiguous.confusion == {"billing": {"network": 1}, "sales": {"sales": 1}}
    assert [m.line for m in result.ambiguous.misses] == [10]
    assert result.overall.accuracy == Share(6, 10)


def test_the_minimum_applies_to_clear_cut_accuracy_only() -> None:
    result = report(OUTCOMES, DEPARTMENTS)  # clear-cut 62.5%, overall 60%
    assert result.passes(None)
    assert result.passes(0.625)
    assert not result.passes(0.63)
    only_ambiguous = report([o for o in OUTCOMES if o.ambiguous], DEPARTMENTS)
    assert only_ambiguous.clear_cut.accuracy.rate is None
    assert not only_ambiguous.passes(0.5)  # nothing clear-cut to vouch for the minimum


def test_priority_and_category_are_scored_only_where_labelled() -> None:
    outcomes = [
        Outcome(1, "a", "network", "network", "outage", expected_priority="P2", got_priority="P2",
                expected_category="outage", got_category="outage"),
        Outcome(2, "b", "network", "network", "outage", expected_priority="P1", got_priority="P2"),
        Outcome(3, "c", "billing", "webcare", None, expected_category="billing", got_category="general"),
        Outcome(4, "d", "billing", "billing", "billing", got_priority="P3", got_category="billing"),
    ]
    scores = score(outcomes)
    assert scores.priority == Share(1, 2)
    assert scores.category == Share(1, 2)
    assert scores.accuracy == Share(3, 4)
    # without a folder order, departments come in order of appearance
    assert [d.department for d in scores.departments] == ["network", "billing", "webcare"]


def test_no_mentions_gives_no_rates() -> None:
    scores = score([])
    assert (scores.accuracy.rate, scores.departments, scores.confusion, scores.misses) == (None, (), {}, ())
