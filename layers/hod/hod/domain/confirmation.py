"""The consumer's confirmation code: short enough to read over the phone, with no letters that look like digits.

Eight symbols from an alphabet of 30 (Crockford's base32 without 0, 1, I, L, O and U), shown in two groups of four
("HK7M-4QXZ"): 30^8, about 6.6 * 10^11 codes, so a new code almost never meets a stored one (and when it does, the
intake draws another). Stored without the hyphen; read back leniently (any case, spaces or hyphens anywhere).
"""

from __future__ import annotations

import re

ALPHABET = "23456789ABCDEFGHJKMNPQRSTVWXYZ"
LENGTH = 8
_GROUP = 4
_SEPARATORS = re.compile(r"[\s\-]+")


def is_code(text: str) -> bool:
    """Whether `text` (already normalised) is a confirmation code."""
    return len(text) == LENGTH and all(symbol in ALPHABET for symbol in text)


def normalised(text: str) -> str | None:
    """The stored form of a code as someone typed it ("hk7m 4qxz" -> "HK7M4QXZ"), or None when it is not one."""
    code = _SEPARATORS.sub("", text).upper()
    return code if is_code(code) else None


def from_numbers(numbers: list[int]) -> str:
    """A code from LENGTH numbers below len(ALPHABET) (the caller draws them at random)."""
    if len(numbers) != LENGTH or any(not 0 <= n < len(ALPHABET) for n in numbers):
        raise ValueError(f"need {LENGTH} numbers from 0 to {len(ALPHABET) - 1}")
    return "".join(ALPHABET[n] for n in numbers)


def grouped(code: str) -> str:
    """The code as people read it: "HK7M4QXZ" -> "HK7M-4QXZ"."""
    return f"{code[:_GROUP]}-{code[_GROUP:]}"
