"""Languages consumers may ask for and agents may speak (ISO 639-1 codes). Data, not logic: add a row to add one."""

from __future__ import annotations

from collections.abc import Mapping
from types import MappingProxyType

# code -> (English name, own name)
LANGUAGES: Mapping[str, tuple[str, str]] = MappingProxyType(
    {
        "en": ("English", "English"),
        "es": ("Spanish", "Español"),
        "zh": ("Chinese", "中文"),
        "vi": ("Vietnamese", "Tiếng Việt"),
        "ko": ("Korean", "한국어"),
        "tl": ("Tagalog", "Tagalog"),
        "ru": ("Russian", "Русский"),
        "ar": ("Arabic", "العربية"),
        "ht": ("Haitian Creole", "Kreyòl Ayisyen"),
        "fr": ("French", "Français"),
        "pt": ("Portuguese", "Português"),
        "pl": ("Polish", "Polski"),
        "hi": ("Hindi", "हिन्दी"),
        "ja": ("Japanese", "日本語"),
        "de": ("German", "Deutsch"),
        "it": ("Italian", "Italiano"),
        "fa": ("Persian", "فارسی"),
        "gu": ("Gujarati", "ગુજરાતી"),
        "ur": ("Urdu", "اردو"),
        "bn": ("Bengali", "বাংলা"),
        "so": ("Somali", "Soomaali"),
        "hmn": ("Hmong", "Hmoob"),
    }
)


def normalise_language(value: str) -> str:
    """Lower-cased code if supported, else ValueError naming the supported codes."""
    code = value.strip().lower()
    if code not in LANGUAGES:
        raise ValueError(f"unsupported language {value!r}; use one of {', '.join(sorted(LANGUAGES))}")
    return code
