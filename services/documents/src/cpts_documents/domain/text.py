"""Text folding for keyword matching: lower case, no accents, words of letters and digits.

Dotted abbreviations are joined before folding (``C.P.A.M.`` -> ``cpam``, ``A.R.S`` -> ``ars``),
so that a keyword table names each funder once.
"""

from __future__ import annotations

import re
import unicodedata
from functools import lru_cache

_NON_WORD = re.compile(r"[^a-z0-9]+")
# Single letters joined by dots: "c.p.a.m." or "a.r.s" (not "e.g" inside a word).
_DOTTED = re.compile(r"(?<![a-z0-9])[a-z](?:\.[a-z])+\.?(?![a-z0-9])")
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
    if "." in lowered:
        lowered = _DOTTED.sub(lambda m: m.group(0).replace(".", ""), lowered)
    return _NON_WORD.sub(" ", lowered).strip()


@lru_cache(maxsize=4096)
def _strip_marks(text: str) -> str:
    decomposed = unicodedata.normalize("NFKD", text)
    return "".join(ch for ch in decomposed if not unicodedata.combining(ch))


def _singular(word: str) -> str | None:
    """French plurals (``concerts``, ``traiteurs``, ``cadeaux``): the singular, if plural."""
    if len(word) > 3 and word[-1] in "sx":
        return word[:-1]
    return None


class Words:
    """A folded text prepared for keyword lookups: its words, and the singular of its plurals."""

    __slots__ = ("text", "tokens")

    def __init__(self, folded_text: str) -> None:
        self.text = folded_text
        tokens = folded_text.split()
        self.tokens = set(tokens)
        for token in tokens:
            single = _singular(token)
            if single is not None:
                self.tokens.add(single)


class KeywordSet:
    """Keywords found in a folded text as whole words (a plural ending in s or x matches its
    singular keyword). In the keyword list, ``re:PATTERN`` is a regular expression on the folded
    text (``re:cd ?\\d{2,3}`` for "CD35"), and ``-phrase`` a phrase removed from the text before
    matching (``-roche sur yon``: a town, not the laboratory)."""

    def __init__(self, keywords: list[str]) -> None:
        patterns = [k.strip()[3:] for k in keywords if k.strip().startswith("re:")]
        excluded = [fold(k.strip()[1:]) for k in keywords if k.strip().startswith("-")]
        plain = [fold(k) for k in keywords if not k.strip().startswith(("re:", "-"))]
        folded = [k for k in plain if k]
        self.words = frozenset(k for k in folded if " " not in k)
        self.phrases = tuple(sorted({k for k in folded if " " in k}))
        self._first_words = frozenset(p.split()[0] for p in self.phrases)
        self.raw_patterns = tuple(patterns)
        self.patterns = tuple(re.compile(rf"(?<![a-z0-9])(?:{p})(?![a-z0-9])") for p in patterns)
        self.excluded = tuple(sorted({e for e in excluded if e}))
        self._excluded_first = frozenset(e.split()[0] for e in self.excluded)

    def found(self, folded_text: str) -> list[str]:
        return self.found_in(Words(folded_text)) if folded_text else []

    def found_in(self, words: Words) -> list[str]:
        """The keywords in a prepared text (see :class:`Words`)."""
        if self._excluded_first and not self._excluded_first.isdisjoint(words.tokens):
            padded = f" {words.text} "
            for phrase in self.excluded:
                padded = padded.replace(f" {phrase} ", " ")
            if padded.strip() != words.text:
                words = Words(padded.strip())
        tokens = words.tokens
        result = sorted(self.words.intersection(tokens))
        if self.phrases and not self._first_words.isdisjoint(tokens):
            padded = f" {words.text} "
            result += [p for p in self.phrases if f" {p} " in padded]
        for pattern in self.patterns:
            match = pattern.search(words.text)
            if match is not None:
                result.append(match.group(0))
        return result

    def keywords(self) -> list[str]:
        """The table as written (for the API): words, phrases, patterns and exclusions."""
        return [
            *sorted(self.words),
            *self.phrases,
            *(f"re:{p}" for p in self.raw_patterns),
            *(f"-{e}" for e in self.excluded),
        ]

    def __bool__(self) -> bool:
        return bool(self.words or self.phrases or self.patterns)
