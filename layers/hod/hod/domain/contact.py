"""Validation of people's names, US phone numbers and e-mail addresses (pure functions raising ValueError; a
phone number's and an e-mail address's problems have stable names, `hod.errors.problem`)."""

from __future__ import annotations

import re
import unicodedata

from hod.errors import problem

EMAIL_PATTERN = (
    r"^(?=.{3,254}$)(?!.*\.\.)[A-Za-z0-9.!#$%&'*+/=?^_`{|}~-]{1,64}@"
    r"(?:[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?\.)+[A-Za-z]{2,63}$"
)
_EMAIL = re.compile(EMAIL_PATTERN)
_NAME_EXTRA = set(" -'.’")
MAX_NAME_LENGTH = 50

# The same rules as JSON Schema patterns (ECMA-262) for the API's document. A pattern cannot name "a letter of any
# script", so a name's is exact over ASCII (letters, spaces, - ' . ’; at least one letter) and lets other
# non-ASCII characters through to the validator; the others are exact, or stricter than their validator.
_NOT_IN_NAMES = "\\x00-\\x1f!-&(-,/0-9:-@\\[-^_`{-~\\x7f"
NAME_PATTERN = f"^[^{_NOT_IN_NAMES}]*[^{_NOT_IN_NAMES}\\s'.’-][^{_NOT_IN_NAMES}]*$"
_SEPARATORS = "[\\s().+-]*"
PHONE_PATTERN = (
    f"^{_SEPARATORS}(1{_SEPARATORS})?[2-9]({_SEPARATORS}[0-9]){{2}}{_SEPARATORS}[2-9]({_SEPARATORS}[0-9]){{6}}"
    f"{_SEPARATORS}$"
)


def normalise_name(value: str) -> str:
    """A person's name: letters of any script plus spaces, hyphens, apostrophes and periods; 1-50 characters."""
    name = " ".join(unicodedata.normalize("NFC", value).split())
    if not name:
        raise ValueError("is required")
    if len(name) > MAX_NAME_LENGTH:
        raise ValueError(f"must be at most {MAX_NAME_LENGTH} characters")
    for ch in name:
        if ch in _NAME_EXTRA:
            continue
        category = unicodedata.category(ch)
        if not (category.startswith("L") or category.startswith("M")):
            raise ValueError("may contain only letters, spaces, hyphens, apostrophes and periods")
    if not any(unicodedata.category(ch).startswith("L") for ch in name):
        raise ValueError("must contain a letter")
    return name


def normalise_us_phone(value: str) -> str:
    """A North American (NANP) number in E.164 form, e.g. '(512) 555-0100' -> '+15125550100'."""
    raw = value.strip()
    if not raw:
        raise problem("required", "is required")
    if re.search(r"[^\d\s().+-]", raw):
        raise problem("phone_format", "must be a US phone number, e.g. (512) 555-0100")
    digits = re.sub(r"\D", "", raw)
    if len(digits) == 11 and digits.startswith("1"):
        digits = digits[1:]
    if len(digits) != 10:
        raise problem("phone_digits", "must have 10 digits, e.g. (512) 555-0100")
    if digits[0] in "01" or digits[3] in "01":
        raise problem(
            "phone_area_code", "is not a valid US phone number (area code and exchange cannot start with 0 or 1)"
        )
    return "+1" + digits


def normalise_email(value: str) -> str:
    """Trimmed address with a lower-cased domain; refuses anything that is not name@domain.tld."""
    email = value.strip()
    if not _EMAIL.fullmatch(email):
        raise problem("email_format", "must be an e-mail address like name@example.com")
    local, domain = email.rsplit("@", 1)
    return f"{local}@{domain.lower()}"
