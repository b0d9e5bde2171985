"""Caption rules, checked while typing and on import; one rule set per caption language.

A caption is a search query a shopper could type. The rules keep it a plain list of words:
- `empty`: there is no text at all.
- `punctuation_only`: there are characters but no letter or digit.
- `too_few_words`: fewer words than `min_words` (settings.min_caption_words).
- `separators`: words are separated by something other than one space or ", ". Anything
  between words or around them that is not a word (a full stop at the end, ";", "/", a double
  space, a line break, a non-breaking space) breaks it. Hyphens, apostrophes, dots, "&", "+"
  inside a word ("T-Shirt", "3.5", "H&M") and a trailing "%" or "°" ("100%", "30°") are part
  of the word.
- `symbols`: emoji or other pictographic symbols ("🧥", "©", "®") stand where words should.
  They are no separator either: "Jacke 🧥 Leder" breaks only this rule.
- `opening`: the caption starts like a sentence about the picture ("Das ist …", "this is …")
  instead of naming the product.
Leading and trailing white space is ignored (the caption is stored stripped).
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass

RULE_IDS = ("empty", "punctuation_only", "too_few_words", "separators", "symbols", "opening")
LANGUAGES = ("de", "en")

# Openings that describe the picture instead of naming the product, per caption language.
OPENINGS: dict[str, tuple[str, ...]] = {
    "de": (
        "Das ist",
        "Dies ist",
        "Das sind",
        "Dies sind",
        "Hier ist",
        "Hier sind",
        "Es handelt sich um",
    ),
    "en": ("this is", "these are", "here is", "here are"),
}

_WORD = re.compile(r"[^\W_]+(?:[-'’.&+][^\W_]+)*[%°]?")
_SEPARATOR = re.compile(r"(?:, | )")
_ALNUM = re.compile(r"[^\W_]")
# What joins and modifies emoji (zero-width joiner, variation selectors, keycap): part of the
# symbol they follow, not a separator.
_EMOJI_GLUE = frozenset("\u200d\ufe0e\ufe0f\u20e3")


@dataclass(frozen=True)
class RuleViolation:
    """One broken rule: its id, an English message for the command line, and its detail.

    `detail` is what the message quotes (the word count, the bad separators, the opening), so
    the window can build a translated message from `rule` and `detail`.
    """

    rule: str
    message: str
    detail: str = ""


def count_words(text: str) -> int:
    """Words in the caption, however they are separated."""
    return len(_WORD.findall(text))


def check_caption(text: str, language: str = "de", min_words: int = 6) -> list[RuleViolation]:
    """Every rule `text` breaks, in a fixed order; an empty list means the caption is fine."""
    if language not in OPENINGS:
        raise ValueError(f"unknown caption language {language!r}; expected one of de, en")
    text = text.strip()
    if not text:
        return [RuleViolation("empty", "The caption is empty.")]
    if not _ALNUM.search(text):
        return [
            RuleViolation(
                "punctuation_only", "The caption has no words, only punctuation or symbols."
            )
        ]
    found: list[RuleViolation] = []
    words = count_words(text)
    if words < min_words:
        found.append(
            RuleViolation(
                "too_few_words",
                f"Write at least {min_words} words (now {words}).",
                str(words),
            )
        )
    bad = bad_separators(text)
    if bad:
        shown = ", ".join(_quote(b) for b in bad)
        found.append(
            RuleViolation(
                "separators",
                f'Separate words only with a space or ", " (found {shown}).',
                shown,
            )
        )
    symbols = find_symbols(text)
    if symbols:
        shown = " ".join(symbols)
        found.append(
            RuleViolation("symbols", f"Write words, not emoji or symbols (found {shown}).", shown)
        )
    opening = bad_opening(text, language)
    if opening:
        found.append(
            RuleViolation(
                "opening",
                f'Do not start with "{opening}": name the product right away.',
                opening,
            )
        )
    return found


def _is_symbol(char: str) -> bool:
    return unicodedata.category(char) in ("So", "Sk") or char in _EMOJI_GLUE


def _symbol_runs(text: str) -> list[tuple[int, int]]:
    """(start, end) of each run of symbol characters in `text` outside words ("30°")."""
    in_words = {i for m in _WORD.finditer(text) for i in range(m.start(), m.end())}
    runs: list[tuple[int, int]] = []
    start = None
    for i, char in enumerate(text + " "):
        if i < len(text) and i not in in_words and _is_symbol(char):
            start = i if start is None else start
        elif start is not None:
            runs.append((start, i))
            start = None
    return runs


def find_symbols(text: str) -> list[str]:
    """The distinct runs of emoji and other symbols in `text`, in order."""
    found: list[str] = []
    for start, end in _symbol_runs(text):
        if text[start:end] not in found:
            found.append(text[start:end])
    return found


def bad_separators(text: str) -> list[str]:
    """The distinct pieces of `text` (stripped) that are neither words nor allowed separators.

    Runs of symbols count as words here: the `symbols` rule reports them.
    """
    text = text.strip()
    tokens = sorted([(m.start(), m.end()) for m in _WORD.finditer(text)] + _symbol_runs(text))
    bad: list[str] = []
    position = 0
    for start, end in tokens:
        gap = text[position:start]
        allowed = position > 0 and _SEPARATOR.fullmatch(gap)
        if gap and not allowed and gap not in bad:
            bad.append(gap)
        position = end
    tail = text[position:]
    if tail and tail not in bad:
        bad.append(tail)
    return bad


def bad_opening(text: str, language: str) -> str | None:
    """The forbidden opening `text` starts with (as written in the rule set), or None."""
    folded = " ".join(text.strip().split()).casefold()
    for opening in OPENINGS[language]:
        phrase = opening.casefold()
        if folded == phrase or (folded.startswith(phrase) and not folded[len(phrase)].isalnum()):
            return opening
    return None


def _quote(piece: str) -> str:
    visible = {" ": "space", "\t": "tab", "\n": "line break", "\u00a0": "non-breaking space"}
    if piece in visible:
        return visible[piece]
    if piece.strip(" ") == "" and len(piece) > 1:
        return f"{len(piece)} spaces"
    return '"' + piece.replace("\n", "\\n").replace("\t", "\\t").replace("\u00a0", "\\u00a0") + '"'
