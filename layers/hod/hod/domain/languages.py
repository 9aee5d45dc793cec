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


# Each language's name in Spanish, as running Spanish text writes it (lower case): "idioma: español"
SPANISH_NAMES: Mapping[str, str] = MappingProxyType(
    {
        "en": "inglés",
        "es": "español",
        "zh": "chino",
        "vi": "vietnamita",
        "ko": "coreano",
        "tl": "tagalo",
        "ru": "ruso",
        "ar": "árabe",
        "ht": "criollo haitiano",
        "fr": "francés",
        "pt": "portugués",
        "pl": "polaco",
        "hi": "hindi",
        "ja": "japonés",
        "de": "alemán",
        "it": "italiano",
        "fa": "persa",
        "gu": "guyaratí",
        "ur": "urdu",
        "bn": "bengalí",
        "so": "somalí",
        "hmn": "hmong",
    }
)


def normalise_language(value: str) -> str:
    """Lower-cased code if supported, else ValueError naming the supported codes."""
    code = value.strip().lower()
    if code not in LANGUAGES:
        raise ValueError(f"unsupported language {value!r}; use one of {', '.join(sorted(LANGUAGES))}")
    return code


def preferred_language(accept_language: str | None, available: tuple[str, ...]) -> str | None:
    """The language of `available` the browser prefers most (Accept-Language, q-values honoured: "en;q=0.1,
    es;q=0.9" prefers Spanish; a q of 0 refuses a language), or None when it names none of them."""
    ranked: list[tuple[float, int, str]] = []
    for position, part in enumerate((accept_language or "").split(",")):
        code, *parameters = (piece.strip() for piece in part.split(";"))
        code = code.lower().split("-")[0]
        weight = 1.0
        for parameter in parameters:
            name, _, value = parameter.partition("=")
            if name.strip().lower() == "q":
                try:
                    weight = float(value)
                except ValueError:
                    weight = 0.0
        if code in available and 0 < weight <= 1:
            ranked.append((-weight, position, code))
    return min(ranked)[2] if ranked else None
