"""Keyword items, modes and boundaries (SPEC §1 "Lists", "Matching text"), and sentiment counting."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from app.rules.folding import FoldedText, fold
from app.rules.matching import ItemMatcher, Mode, make_item, sentiment


def _matcher(*items: str, mode: Mode = "word", owner: str = "l") -> ItemMatcher:
    made = [make_item(i, mode, owner) for i in items]
    return ItemMatcher([i for i in made if i is not None])


def _found(text: str, *items: str, mode: Mode = "word") -> bool:
    return bool(_matcher(*items, mode=mode).occurrences(fold(text)))


@pytest.mark.parametrize(("text", "expected"), [
    ("#storing", True),
    ("STORING!!", True),
    ("storing-melding", True),
    ("Storing😡", True),
    ("al weken storing", True),
    ("storing.", True),
    ("storingsvrij", False),
    ("storing2", False),
    ("nstoring", False),
    ("_storing", False),
    ("storing_x", False),
])
def test_word_mode_boundaries(text: str, expected: bool) -> None:
    assert _found(text, "storing") is expected


@pytest.mark.parametrize(("text", "item", "mode", "expected"), [
    ("verbindingsproblemen", "verbinding", "prefix", True),
    ("geen verbinding", "verbinding", "prefix", True),
    ("xverbinding", "verbinding", "prefix", False),
    ("verbindingen", "verbinding*", "word", True),           # trailing * = prefix
    ("verbindingen", "verbinding", "word", False),
    ("wifistoringen", "storing", "substring", True),
    ("STORINGEN", "storing", "substring", True),
    ("het ligt eruit", "ligt eruit", "word", True),          # several words
    ("het ligt\n  eruit!", "ligt eruit", "word", True),      # whitespace runs fold to one space
    ("het ligteruit", "ligt eruit", "word", False),
    ("ik ben geïrriteerd", "geirriteerd", "word", True),
    ("ik ben geirriteerd", "geïrriteerd", "word", True),     # items fold too
    ("ÉÉN keer", "een", "word", True),
    ("Straße", "strasse", "word", True),
])
def test_modes(text: str, item: str, mode: Mode, expected: bool) -> None:
    assert _found(text, item, mode=mode) is expected


def test_items_that_fold_to_nothing_are_refused() -> None:
    assert make_item("*", "word", "l") is None
    assert make_item("  ", "word", "l") is None
    assert make_item("\u0301", "word", "l") is None


def test_occurrences_report_every_item_at_every_place() -> None:
    m = _matcher("slecht", "heel slecht", "slecht*")
    occ = m.occurrences(fold("Heel slecht, echt slechte service"))
    got = sorted((o.item.text, o.item.mode, o.start, o.end) for o in occ)
    assert got == [("heel slecht", "word", 0, 11), ("slecht", "prefix", 5, 11), ("slecht", "prefix", 18, 24),
                   ("slecht", "word", 5, 11)]


def test_cased_items_match_exactly() -> None:
    item = make_item("KPN", "word", "l", cased=True)
    assert item is not None
    m = ItemMatcher([item])
    assert m.found("bij KPN!")
    assert not m.found("bij kpn!")


def test_empty_matcher_finds_nothing() -> None:
    m = ItemMatcher([])
    assert not m and not m.found("anything") and m.occurrences("anything") == ()


def test_sentiment_counts_every_occurrence_times_the_owner_weight() -> None:
    negative = _matcher("slecht", "😡", mode="substring", owner="neg")
    positive = _matcher("top", mode="word", owner="pos")
    neutral = _matcher("service", owner="other")
    both = ItemMatcher([*negative.items, *positive.items, *neutral.items])
    occurrences = both.occurrences(fold("Slecht slecht 😡😡 maar de service was top"))
    assert sentiment({"neg": -2, "pos": 1}, occurrences) == -2 * 4 + 1


@given(st.text(alphabet="abc -ßﬁÉe\u0301!", max_size=30),
       st.sampled_from(["a", "ab", "ss", "fi", "e", "b c", "abc"]),
       st.sampled_from(["word", "prefix", "substring"]))
def test_spans_map_to_original_text_that_folds_to_contain_the_item(text: str, item: str, mode: Mode) -> None:
    folded = FoldedText(text)
    m = _matcher(item, mode=mode)
    for occ in m.occurrences(folded.folded):
        start, end = folded.to_original(occ.start, occ.end)
        assert occ.item.text in fold(text[start:end])


@given(st.text(alphabet="abc xyz-", max_size=30))
def test_ascii_spans_are_exact(text: str) -> None:
    folded = FoldedText(text)
    for occ in _matcher("ab", "x y", mode="word").occurrences(folded.folded):
        start, end = folded.to_original(occ.start, occ.end)
        assert fold(text[start:end]) == occ.item.text
