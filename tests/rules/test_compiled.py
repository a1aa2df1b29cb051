"""The compiled matcher (one automaton over the folder's folded items, then only the candidate
rules evaluated) against the straightforward definitions: every item looked for at every place,
and every rule evaluated in order. Random lists, rules and texts; results must be identical."""

from __future__ import annotations

import tempfile
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import yaml
from hypothesis import given, settings
from hypothesis import strategies as st

from app.rules import check_ruleset, classify, explain
from app.rules.folding import fold, is_word_char
from app.rules.matching import Item, ItemMatcher, Mode, Occurrence, make_item
from tests.rules.support import mention, write_folder

NOW = datetime(2026, 3, 2, 9, 15, tzinfo=UTC)
WORDS = ["storing", "storingen", "storm", "geen internet", "internet", "wifi", "factuur", "te veel", "slecht",
         "😡", "café", "cafe", "ß", "ss", "a_b", "x.y", "112"]
FILLER = ["de", "het", "een", "al", "weken", "is", "niet", "ok", "1120", "storingsvrij", "internetstoring",
          "Geen", "INTERNET", "Storing!", "#storing", "😡😡", "CAFÉ", "stra\u00dfe", "x", "y"]
MODES: list[Mode] = ["word", "prefix", "substring"]


def reference(items: list[Item], text: str) -> tuple[Occurrence, ...]:
    """Every item looked for at every place of `text`, boundaries checked by definition."""
    found = []
    for order, item in enumerate(dict.fromkeys(items)):
        at = text.find(item.text)
        while at != -1:
            end = at + len(item.text)
            bounded_start = at == 0 or not is_word_char(text[at - 1])
            bounded_end = end == len(text) or not is_word_char(text[end])
            if item.mode == "substring" or (bounded_start and (item.mode == "prefix" or bounded_end)):
                found.append((at, end, order, Occurrence(item, at, end)))
            at = text.find(item.text, at + 1)
    return tuple(o for *_, o in sorted(found, key=lambda f: f[:3]))


items_strategy = st.lists(st.tuples(st.sampled_from([*WORDS, "stor*", "inter*", "fac*", "s", "e"]),
                                    st.sampled_from(MODES), st.sampled_from(["a", "b"])), max_size=12)
text_strategy = st.lists(st.sampled_from([*WORDS, *FILLER]), max_size=14).flatmap(
    lambda words: st.lists(st.sampled_from([" ", "  ", "-", "", "\n", ", "]), min_size=len(words),
                           max_size=len(words)).map(lambda seps: "".join(w + s for w, s in zip(words, seps,
                                                                                             strict=True))))


@settings(max_examples=400, deadline=None)
@given(items_strategy, text_strategy | st.text(alphabet="stoingé ß😡_-1", max_size=30))
def test_the_automaton_finds_exactly_what_the_definition_finds(written: list[tuple[str, Mode, str]],
                                                               text: str) -> None:
    items = [i for i in (make_item(t, m, o) for t, m, o in written) if i is not None]
    folded = fold(text)
    assert ItemMatcher(items).occurrences(folded) == reference(items, folded)


ENTRIES = ["list:l0", "list:l1", "list:l2", *WORDS[:10]]


@st.composite
def conditions(draw: st.DrawFn, depth: int = 0) -> dict[str, Any]:
    kinds = ["contains_any", "contains_all", "not_contains_any", "channel", "sentiment"]
    kinds += ["any", "all", "not"] if depth < 2 else []
    kind = draw(st.sampled_from(kinds))
    if kind in ("contains_any", "contains_all", "not_contains_any"):
        return {"text": {kind: draw(st.lists(st.sampled_from(ENTRIES), min_size=1, max_size=3))}}
    if kind == "channel":
        return {"channel": draw(st.sampled_from(["x", {"ne": "facebook"}, {"in": ["x", "y"]}]))}
    if kind == "sentiment":
        return {"sentiment": {draw(st.sampled_from(["lt", "gte"])): draw(st.integers(-2, 1))}}
    if kind == "not":
        return {"not": draw(conditions(depth + 1))}
    return {kind: draw(st.lists(conditions(depth + 1), min_size=1, max_size=3))}


@st.composite
def folders(draw: st.DrawFn) -> dict[str, Any]:
    lists = {}
    for n in range(3):
        body: dict[str, Any] = {"list": f"l{n}", "match": draw(st.sampled_from(MODES)),
                                "items": draw(st.lists(st.sampled_from([*WORDS, "stor*", "inter*"]), min_size=1,
                                                       max_size=5, unique=True))}
        if draw(st.booleans()):
            body["weight"] = draw(st.sampled_from([-2, -1, 1]))
        if n == 2 and draw(st.booleans()):
            body["include"] = ["l0"]
        lists[f"l{n}"] = yaml.safe_dump(body, allow_unicode=True)
    rules = []
    for n in range(draw(st.integers(1, 7))):
        cont = draw(st.booleans())
        rules.append({"id": f"r{n}", "order": n, "continue": cont,
                      "when": {"all": draw(st.lists(conditions(), min_size=1, max_size=3))},
                      "then": {"tags": [f"t{n}"]} if cont else {"department": "network", "category": f"c{n}"}})
    return {"lists": lists, "rules": yaml.safe_dump({"rules": rules}, allow_unicode=True)}


# Texts made mostly of the keywords, so that several entries of a rule are found at once.
keyword_texts = st.lists(st.sampled_from(WORDS), min_size=1, max_size=10).map(" ".join)


@settings(max_examples=150, deadline=None)
@given(folders(), st.lists(keyword_texts | text_strategy, min_size=1, max_size=8), st.sampled_from(["x", "facebook"]))
def test_classify_equals_evaluating_every_rule(folder: dict[str, Any], texts: list[str], channel: str) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        ruleset, problems = check_ruleset(write_folder(Path(tmp), rules=folder["rules"], lists=folder["lists"]))
    assert ruleset is not None, [str(p) for p in problems]
    for text in texts:
        m = mention(text or "leeg", channel=channel)
        compiled = classify(ruleset, m, NOW)
        everything = explain(ruleset, m, NOW).decision
        assert compiled == everything
        assert compiled.sentiment == sum(ruleset.weights.get(o.item.owner, 0)
                                         for o in reference(list(ruleset.lexicon.items), fold(m.text)))
