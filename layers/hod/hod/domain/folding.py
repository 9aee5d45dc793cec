"""Names and addresses as a search compares them: lower case, accents folded, punctuation and extra spaces dropped
("  García-López, Ana " -> "garcia lopez ana")."""

from __future__ import annotations

import re
import unicodedata

_NOT_WORD = re.compile(r"[^0-9a-z@.]+")


def fold(text: str) -> str:
    """`text` lower-cased, accents removed, runs of anything but letters, digits, "@" and "." made one space."""
    plain = "".join(ch for ch in unicodedata.normalize("NFKD", text) if not unicodedata.combining(ch))
    return _NOT_WORD.sub(" ", plain.lower()).strip()


def name_key(first_name: str, last_name: str) -> str:
    """How an agent is found by name: "garcia ana" (last name first, so a prefix of the last name finds them)."""
    return f"{fold(last_name)} {fold(first_name)}".strip()


def name_prefixes(text: str) -> list[str]:
    """The name-key prefixes a typed name may mean: "garc" -> ["garc"]; "ana garcia" -> ["ana garcia",
    "garcia ana"] (last name first, or first name first)."""
    words = fold(text.replace(".", " ").replace("@", " ")).split()
    if not words:
        return []
    typed = " ".join(words)
    if len(words) == 1:
        return [typed]
    return [typed, " ".join([words[-1], *words[:-1]])]
