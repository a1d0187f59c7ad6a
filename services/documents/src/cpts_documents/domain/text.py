"""Text folding for keyword matching: lower case, no accents, words of letters and digits."""

from __future__ import annotations

import re
import unicodedata
from functools import lru_cache

_NON_WORD = re.compile(r"[^a-z0-9]+")
_ACCENTS = str.maketrans(
    {
        **dict.fromkeys("àâäáãå", "a"),
        **dict.fromkeys("éèêëę", "e"),
        **dict.fromkeys("îïíì", "i"),
        **dict.fromkeys("ôöóòõø", "o"),
        **dict.fromkeys("ûüúù", "u"),
        **dict.fromkeys("ÿý", "y"),
        "ç": "c",
        "ñ": "n",
        "œ": "oe",
        "æ": "ae",
        "ß": "ss",
    }
)


def fold(text: str) -> str:
    """``"Théâtre / Soirée d'été"`` -> ``"theatre soiree d ete"`` (words separated by one space)."""
    lowered = text.lower().translate(_ACCENTS)
    if not lowered.isascii():
        lowered = _strip_marks(lowered)
    return _NON_WORD.sub(" ", lowered).strip()


@lru_cache(maxsize=4096)
def _strip_marks(text: str) -> str:
    decomposed = unicodedata.normalize("NFKD", text)
    return "".join(ch for ch in decomposed if not unicodedata.combining(ch))


class KeywordSet:
    """Keywords (single words or phrases, folded) found in a folded text as whole words."""

    def __init__(self, keywords: list[str]) -> None:
        folded = [fold(k) for k in keywords if fold(k)]
        self.words = frozenset(k for k in folded if " " not in k)
        self.phrases = tuple(sorted({k for k in folded if " " in k}))

    def found(self, folded_text: str) -> list[str]:
        hits = sorted(self.words.intersection(folded_text.split()))
        if self.phrases:
            padded = f" {folded_text} "
            hits += [p for p in self.phrases if f" {p} " in padded]
        return hits

    def __bool__(self) -> bool:
        return bool(self.words or self.phrases)
