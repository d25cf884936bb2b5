"""The language of the course's messages and figures: English, or 中文 in the 中文 edition.

A notebook of the 中文 edition starts with ``i18n.use("zh")``; from then on the checks, the
self-check and the course's figures speak 中文::

    tr("{name} is None: did you forget to return it?", name="dW1")

is the English template formatted, or its 中文 from :data:`course.i18n_zh.MESSAGES` (English when
a template has none). The language is plain module state, set only by :func:`use`.

A 中文 template leaves a space between Chinese and a field (``"{name} 的形状为 {got}"``), as Chinese
typesetting does beside code and numbers; where the field's value itself begins or ends with Chinese
(a name the notebook translated: ``"输出"``), that space is dropped: ``"输出的形状为 (2, 3)"``.

For figures, ``use("zh")`` registers the font Noto Sans CJK SC that the package ``mplfonts`` ships
(its file only: none of that package's code runs) and puts it first among matplotlib's sans-serif
fonts; ``use("en")`` puts back the settings it replaced.
"""

from __future__ import annotations

import importlib.resources
import importlib.util
import string
import unicodedata
from collections.abc import Iterator
from contextlib import contextmanager

from course.i18n_zh import MESSAGES

__all__ = ["FONT", "LANGUAGES", "font_path", "language", "speaking", "tr", "use"]

LANGUAGES = ("en", "zh")
FONT = "Noto Sans CJK SC"
"""The family that draws Chinese in figures; its file ships in mplfonts."""
_FONT_FILE = "fonts/NotoSansCJKsc-Regular.otf"
_RC_KEYS = ("font.family", "font.sans-serif", "axes.unicode_minus")

_CATALOGS: dict[str, dict[str, str]] = {"en": {}, "zh": MESSAGES}
_FORMATTER = string.Formatter()
_language = "en"
_english_rc: dict[str, object] = {}
"""The matplotlib settings ``use("zh")`` replaced, put back by ``use("en")``."""


def use(lang: str) -> None:
    """Speak `lang` ("en" or "zh") from now on, in messages and in figures."""
    global _language
    if lang not in LANGUAGES:
        raise ValueError(f"language must be one of {LANGUAGES}, not {lang!r}")
    if lang == "zh":
        _use_chinese_font()
    elif _english_rc:
        import matplotlib

        matplotlib.rcParams.update(_english_rc)
        _english_rc.clear()
    _language = lang


@contextmanager
def speaking(lang: str) -> Iterator[None]:
    """Speak `lang` inside the ``with`` block, then the language spoken before."""
    before = _language
    use(lang)
    try:
        yield
    finally:
        use(before)


def language() -> str:
    """The language now spoken: "en" or "zh"."""
    return _language


def tr(template: str, /, **fields: object) -> str:
    """`template` in the current language, formatted with `fields` (the English one if not translated)."""
    translated = _CATALOGS[_language].get(template)
    return template.format(**fields) if translated is None else _format_chinese(translated, fields)


def _wide(text: str) -> bool:
    """Whether `text` is one Chinese character or full-width punctuation mark (not a Latin letter, digit or space)."""
    return len(text) == 1 and unicodedata.east_asian_width(text) in "WF"


def _format_chinese(template: str, fields: dict[str, object]) -> str:
    """``template.format(**fields)``, without the template's spaces that end up between two wide characters."""
    out: list[str] = []
    before = ""  # the value of the field just before the literal text at hand
    for literal, name, spec, conversion in _FORMATTER.parse(template):
        if literal.startswith(" ") and _wide(before[-1:]) and _wide(literal[1:2]):
            literal = literal[1:]
        if name is None:
            out.append(literal)
            break
        value = _FORMATTER.convert_field(_FORMATTER.get_field(name, (), fields)[0], conversion)
        before = _FORMATTER.format_field(value, spec or "")
        if literal.endswith(" ") and _wide(literal[-2:-1]) and _wide(before[:1]):
            literal = literal[:-1]
        out += [literal, before]
    return "".join(out)


def font_path() -> str:
    """The file of :data:`FONT` inside the installed mplfonts, found without running mplfonts' code."""
    spec = importlib.util.find_spec("mplfonts")
    if spec is None:
        raise ModuleNotFoundError("figures in 中文 need the font that mplfonts ships: pip install mplfonts")
    # A module made from the spec but not executed: importlib.resources reads the package's files.
    package = importlib.util.module_from_spec(spec)
    return str(importlib.resources.files(package) / _FONT_FILE)


def _use_chinese_font() -> None:
    """Register :data:`FONT` with matplotlib and make it the first sans-serif font."""
    import matplotlib
    from matplotlib import font_manager

    path = font_path()
    if not any(f.fname == path for f in font_manager.fontManager.ttflist):
        font_manager.fontManager.addfont(path)
    rc = matplotlib.rcParams
    if not _english_rc:
        _english_rc.update({key: rc[key] for key in _RC_KEYS})
    rc["font.family"] = "sans-serif"
    rc["font.sans-serif"] = [FONT, *(f for f in rc["font.sans-serif"] if f != FONT)]
    rc["axes.unicode_minus"] = False
