"""Text folding for search, so that people find orders however a name was typed."""

import re

# Hamza-carrying alefs and alef wasla read as a bare alef; ta marbuta as ha; alef maqsura as ya.
_ARABIC_LETTER_FOLDS = str.maketrans({"أ": "ا", "إ": "ا", "آ": "ا", "ٱ": "ا", "ة": "ه", "ى": "ي"})
# Tashkeel (harakat, tanween, shadda, sukun, superscript alef …) and tatweel carry no meaning
# for matching a name, and people rarely type them consistently.
_ARABIC_MARKS = re.compile("[\u0610-\u061a\u064b-\u065f\u0670\u06d6-\u06ed\u0640]")


def fold_for_search(text: str) -> str:
    """Lower-case, strip Arabic marks and unify Arabic letter variants."""
    return _ARABIC_MARKS.sub("", text.casefold()).translate(_ARABIC_LETTER_FOLDS)


def like_pattern(fragment: str) -> str:
    """A LIKE pattern matching ``fragment`` anywhere, wildcards taken literally (ESCAPE ``\\``)."""
    escaped = fragment.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    return f"%{escaped}%"
