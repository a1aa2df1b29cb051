"""Folding (SPEC §1 "Matching text") and the folded → original offset map."""

from __future__ import annotations

import re
import unicodedata

import pytest
from hypothesis import given
from hypothesis import strategies as st

from app.rules.folding import FoldedText, fold, folded_with_map, is_word_char


@pytest.mark.parametrize(("text", "folded"), [
    ("STORING", "storing"),
    ("geïrriteerd", "geirriteerd"),
    ("Één", "een"),
    ("Straße", "strasse"),
    ("ﬁets", "fiets"),              # NFKC: the ligature becomes two letters
    ("①", "1"),                      # NFKC compatibility
    ("ＫＰＮ", "kpn"),                # full-width
    ("e\u0301", "e"),               # decomposed accent dropped
    ("a \t\n\u00a0 b", "a b"),      # any whitespace run, no-break space included
    ("  x  ", " x "),               # collapsed, not stripped
    ("Storing😡", "storing😡"),
    ("", ""),
])
def test_fold_table(text: str, folded: str) -> None:
    assert fold(text) == folded


@pytest.mark.parametrize(("char", "word"), [
    ("a", True), ("Z", True), ("7", True), ("_", True), ("é", True), ("٣", True),
    ("-", False), ("#", False), (" ", False), ("!", False), ("😡", False), ("'", False),
])
def test_word_characters(char: str, word: bool) -> None:
    assert is_word_char(char) is word


@pytest.mark.parametrize(("text", "fs", "fe", "original"), [
    ("Al 3 uur STORING!!", 9, 16, "STORING"),
    ("Straße kapot", 0, 7, "Straße"),          # 6 original characters fold to 7
    ("Straße kapot", 8, 13, "kapot"),
    ("ﬁets stuk", 0, 5, "ﬁets"),               # 5 folded characters from 4 original
    ("geïrriteerd!", 0, 11, "geïrriteerd"),
    ("ge\u0308irriteerd", 0, 11, "ge\u0308irriteerd"),  # the combining mark belongs to its letter
    ("ligt   eruit", 0, 10, "ligt   eruit"),    # a collapsed run maps to the whole run
    ("😡 storing", 2, 9, "storing"),           # astral characters count as one code point
])
def test_offsets_map_back_to_original(text: str, fs: int, fe: int, original: str) -> None:
    folded = FoldedText(text)
    start, end = folded.to_original(fs, fe)
    assert text[start:end] == original


_text = st.text(alphabet=st.characters(exclude_categories=["Cs"]), max_size=40)


@given(_text)
def test_fold_is_idempotent(text: str) -> None:
    assert fold(fold(text)) == fold(text)


@given(_text)
def test_cluster_folding_agrees_with_whole_text_folding(text: str) -> None:
    rebuilt, starts, ends = folded_with_map(text)
    assert rebuilt == fold(text)
    assert len(starts) == len(ends) == len(rebuilt)


@given(_text)
def test_offset_map_is_monotonic_and_in_range(text: str) -> None:
    _, starts, ends = folded_with_map(text)
    assert starts == sorted(starts)
    assert ends == sorted(ends)
    assert all(0 <= s < e <= len(text) for s, e in zip(starts, ends, strict=True))


@given(_text, st.data())
def test_any_folded_slice_maps_to_original_text_that_folds_to_contain_it(text: str, data: st.DataObject) -> None:
    folded = FoldedText(text)
    if not folded.folded:
        return
    fs, fe = _draw_slice(data, len(folded.folded))
    start, end = folded.to_original(fs, fe)
    piece = folded.folded[fs:fe]
    # Whitespace at the edge of a slice may come from a collapsed run, so compare without it.
    assert piece.strip() in fold(text[start:end])


def test_no_combining_marks_survive() -> None:
    assert not any(unicodedata.combining(c) for c in fold("Ça̧ë\u0301\u0327ñ"))


# Mostly ASCII with the characters that make folding irregular (marks after ASCII letters, runs
# and odd whitespace, astral and compatibility characters, unprintable ASCII), where the shortcuts
# of `fold` and `FoldedText.to_original` apply or stop applying.
_IRREGULAR_ALPHABET = ["a", "B", " ", "\t", "\x07", "\u0301", "\u0338", "<", "é", "ß", "ﬁ", "\u00a0", "\u2003",
                       "\u00a8", "😡", "_", "1"]
_mixed = st.text(alphabet=st.sampled_from(_IRREGULAR_ALPHABET), max_size=30) | _text


@given(_mixed)
def test_fold_equals_its_definition(text: str) -> None:
    # NFKC, case fold, NFKD, combining marks dropped, whitespace runs collapsed: all spelled out.
    chars = unicodedata.normalize("NFKD", unicodedata.normalize("NFKC", text).casefold())
    defined = re.sub(r"\s+", " ", "".join(c for c in chars if not unicodedata.combining(c)))
    assert fold(text) == defined


@given(_mixed, st.data())
def test_spans_map_through_the_offset_map_whatever_the_shortcut(text: str, data: st.DataObject) -> None:
    _, starts, ends = folded_with_map(text)
    folded = FoldedText(text)
    if not folded.folded:
        return
    fs, fe = _draw_slice(data, len(folded.folded))
    assert folded.to_original(fs, fe) == (starts[fs], ends[fe - 1])


def _draw_slice(data: st.DataObject, n: int) -> tuple[int, int]:
    """A non-empty [start, end) within a text of length n > 0."""
    start = data.draw(st.integers(0, n - 1))
    return start, data.draw(st.integers(start + 1, n))
