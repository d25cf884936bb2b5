"""The language of the course's messages and figures: English, or 中文 in the 中文 edition.

A notebook of the 中文 edition starts with ``i18n.use("zh")``; from then on the checks, the
self-check and the course's figures speak 中文.
"""

from __future__ import annotations

__all__ = ["language", "tr", "use"]

_language = "en"


def use(lang: str) -> None:
    """Speak `lang` ("en" or "zh") from now on."""
    global _language
    _language = lang


def language() -> str:
    return _language


def tr(template: str, /, **fields: object) -> str:
    """`template` in the current language, formatted with `fields`."""
    return template.format(**fields)
