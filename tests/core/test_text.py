"""Search folding: case, Arabic letter variants, diacritics and tatweel."""

import pytest
from hypothesis import given
from hypothesis import strategies as st

from orderly.core.text import fold_for_search, like_pattern


@pytest.mark.parametrize(
    ("written", "typed"),
    [
        ("أحمد", "احمد"),
        ("إيمان", "ايمان"),
        ("آدم", "ادم"),
        ("فاطمة", "فاطمه"),
        ("مصطفى", "مصطفي"),
        ("مُحَمَّد", "محمد"),
        ("محـــمد", "محمد"),
        ("ٱلله", "الله"),
        ("AHMED", "ahmed"),
    ],
)
def test_variants_fold_to_the_same_text(written: str, typed: str) -> None:
    assert fold_for_search(written) == fold_for_search(typed)


@given(st.text())
def test_folding_is_idempotent(text: str) -> None:
    assert fold_for_search(fold_for_search(text)) == fold_for_search(text)


@given(st.text())
def test_like_pattern_escapes_every_wildcard(text: str) -> None:
    inner = like_pattern(text)[1:-1]
    unescaped = inner.replace("\\\\", "").replace("\\%", "").replace("\\_", "")
    assert "%" not in unescaped
    assert "_" not in unescaped
