"""Text transforms a mapping names that need more than one of str's methods: a title case for
names typed in capitals, and a cut at a word boundary for text longer than a field allows.

`str.title` made "SHERIFF'S OFFICE" "Sheriff'S Office", "24TH" "24Th" and "UINTAH CSO"
"Uintah Cso" (issue 15): a letter after an apostrophe or a digit is not a word's first, an
acronym stays in capitals, and small words inside a name stay small."""

from __future__ import annotations

import re

# Kept in capitals wherever they appear: agencies' and places' acronyms with a vowel (those
# without one, "PD", "DPS", "BB&T", are kept by _unspoken).
ACRONYMS = frozenset({"ATF", "CIA", "CSO", "DEA", "DOC", "DOJ", "DOT", "EU", "FBI", "ICE", "INTERPOL", "ISD", "LAPD",
                      "LLC", "NASA", "NATO", "NSA", "NYPD", "NYC", "OIG", "SO", "UK", "UN", "US", "USA", "USAF",
                      "UAE"})  # fmt: skip
# Lower case inside a name, never first: "Department of Public Safety", "Police de la Ville".
SMALL_WORDS = frozenset({"a", "an", "and", "as", "at", "by", "for", "in", "of", "on", "or", "the", "to", "de", "des",
                         "du", "la", "le", "les", "et", "en", "y", "del", "der", "und", "von"})  # fmt: skip
VOWELS = frozenset("AEIOUY")
ELLIPSIS = "…"
_WORD = re.compile(r"[^\W\d_]+")  # a run of letters; digits, apostrophes and hyphens separate runs
_TOKEN = re.compile(r"\S+")


def title_case(text: str) -> str:
    """ "SHERIFF'S OFFICE" -> "Sheriff's Office", "24TH PRECINCT" -> "24th Precinct", "UINTAH CSO"
    -> "Uintah CSO", "DEPARTMENT OF PUBLIC SAFETY" -> "Department of Public Safety"; a word
    already in mixed case ("McAllen") is kept as written."""
    tokens = list(_TOKEN.finditer(text))
    parts, end = [], 0
    for i, token in enumerate(tokens):
        parts.append(text[end : token.start()])
        parts.append(_token(token.group(), first=i == 0))
        end = token.end()
    parts.append(text[end:])
    return "".join(parts)


def _token(token: str, *, first: bool) -> str:
    letters = "".join(_WORD.findall(token))
    if letters and letters != letters.upper() and letters != letters.lower():
        return token  # mixed case was typed on purpose
    if not first and token.lower() in SMALL_WORDS:
        return token.lower()
    bare = token.strip(",;:()[]\"'")
    in_brackets = token.startswith("(") and token.endswith(")") and letters.isupper()  # "(UMPD)"
    if bare.upper() in ACRONYMS or _unspoken(bare, letters) or in_brackets:
        return token.upper()
    return _WORD.sub(lambda m: _word(token, m), token)


def _unspoken(bare: str, letters: str) -> bool:
    """Capitals that cannot be a word: at most four letters, no vowel (Y counts), no digit, not
    an abbreviation with its full stop ("PD", "BB&T"; not "ST.", "MY", "24TH")."""
    return (letters.isupper() and 0 < len(letters) <= 4 and not VOWELS & set(letters)
            and not any(c.isdigit() for c in bare) and not bare.endswith("."))  # fmt: skip


def _word(token: str, match: re.Match[str]) -> str:
    """A run of letters: capitalised at the start of the token, after a hyphen or a slash, and
    after an apostrophe that follows one letter ("O'Brien", "L'État"); lower case after a digit
    ("24th") or another apostrophe ("Sheriff's")."""
    start, word = match.start(), match.group()
    before = token[:start]
    if before and before[-1].isdigit():
        return word.lower()
    if before.endswith(("'", "\u2019")) and not (len(before) == 2 and before[0].isalpha()):
        return word.lower()
    return word[:1].upper() + word[1:].lower()


def truncate(text: str, most: int) -> str:
    """`text` if it has at most `most` characters, else cut at the last word boundary that
    leaves room for "…" (or inside a word longer than that) with "…" added."""
    if len(text) <= most:
        return text
    room = text[: most - len(ELLIPSIS)]
    cut = room.rstrip()
    space = max(cut.rfind(" "), cut.rfind("\n"))
    if space > 0 and len(text) > len(room) and not text[len(room)].isspace():
        cut = cut[:space]
    return cut.rstrip(" ,;:-\n") + ELLIPSIS
