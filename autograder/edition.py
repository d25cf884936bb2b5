"""Editions of a notebook in other languages, built from the English source and a translation file.

The English notebook stays the one source of code and tests. Its translation lives beside it in
``<stem>.<lang>.yaml`` (for example ``notebooks/01_neuron/neuron.zh.yaml``), keyed by cell id::

    cells:
      intro:                       # a markdown cell: its whole text
        en: 3f2a9c1b0d4e           # sha256 of the English cell it translates (first 12 hex digits)
        text: |
          # 01 · 一个神经元
      sigmoid-overflow:            # a code cell: comments and strings a student reads
        en: 9a7c0e51b2d3
        replace:
          - en: '# silence the warnings to see the values'
            zh: '# 关闭警告，以便看清数值'

A code cell's ``replace`` pairs are exact token texts (a comment with its ``#``, a string with its
quotes), replaced wherever they occur; the code around them is never touched. Nothing goes stale
silently: :func:`problems` names every cell whose English changed after its translation was
written, every pair whose English is gone, and every cell that has no translation yet.

The translation files are instructor material (they translate hidden tests too): nbgrader's
release leaves them out (``CourseDirectory.ignore``).
"""

from __future__ import annotations

import ast
import copy
import hashlib
import io
import re
import tokenize
from dataclasses import dataclass, field
from pathlib import Path

import yaml
from nbformat import NotebookNode

__all__ = [
    "EDITIONS",
    "Translation",
    "edition_of",
    "english_hash",
    "problems",
    "readable_strings",
    "skeleton",
    "translate",
    "translation_path",
]

EDITIONS = {"en": "English", "zh": "中文"}
"""The course's editions: language code -> its name in that language. English is the source."""

SWITCH = 'from course import i18n; i18n.use("{lang}")  # {comment}'
"""The line a built edition adds at the top of its first code cell: the course's messages and
figures in that language (``course.i18n``)."""

SWITCH_COMMENT = {"zh": "中文版：检查信息和图中文字使用中文"}

_CJK = re.compile(r"[\u3400-\u9fff]")
_WORD = re.compile(r"[A-Za-z]{3,}")
_SOLUTION = re.compile(r"^\s*### BEGIN SOLUTION.*?^\s*### END SOLUTION[^\n]*$", re.M | re.S)


_LOADER = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


def english_hash(source: str) -> str:
    """What a translated piece records of the English it translates: sha256, first 12 hex digits."""
    return hashlib.sha256(source.encode()).hexdigest()[:12]


def translation_path(notebook: Path, lang: str) -> Path:
    """``dir/stem.ipynb`` -> ``dir/stem.<lang>.yaml``."""
    return notebook.with_name(f"{notebook.stem}.{lang}.yaml")


def edition_of(nb: NotebookNode) -> str:
    """The language a notebook was built in ("en" when it carries no edition, as the source)."""
    course = nb.metadata.get("dlcourse")
    lang = course.get("edition") if isinstance(course, dict) else None
    return lang if isinstance(lang, str) and lang in EDITIONS else "en"


@dataclass
class CellTranslation:
    """One cell's translation: the hash of the English it translates, and a text or token pairs."""

    en: str
    text: str | None = None
    replace: list[tuple[str, str]] = field(default_factory=list)


@dataclass
class Translation:
    """A notebook's translation file: language code and cell id -> :class:`CellTranslation`."""

    lang: str
    cells: dict[str, CellTranslation]

    @classmethod
    def load(cls, path: Path, lang: str) -> Translation:
        """Read a translation file; a malformed one raises ``ValueError`` naming the file and cell."""
        raw = yaml.load(path.read_text(encoding="utf-8"), Loader=_LOADER) or {}
        cells = {}
        for cid, entry in (raw.get("cells") or {}).items():
            if not isinstance(entry, dict) or not isinstance(entry.get("en"), str):
                raise ValueError(f"{path}: cell {cid!r} needs 'en' (the hash of the English it translates)")
            pairs = []
            for pair in entry.get("replace") or []:
                if not (isinstance(pair, dict) and isinstance(pair.get("en"), str) and isinstance(pair.get(lang), str)):
                    raise ValueError(f"{path}: cell {cid!r}: each 'replace' entry needs 'en' and {lang!r} strings")
                pairs.append((pair["en"], pair[lang]))
            text = entry.get("text")
            if text is not None and not isinstance(text, str):
                raise ValueError(f"{path}: cell {cid!r}: 'text' must be a string")
            cells[str(cid)] = CellTranslation(entry["en"], text, pairs)
        return cls(lang, cells)

    @classmethod
    def of(cls, notebook: Path, lang: str) -> Translation:
        """The translation beside `notebook`; a missing file is an error that says which."""
        path = translation_path(notebook, lang)
        if not path.exists():
            raise FileNotFoundError(f"no {EDITIONS.get(lang, lang)} translation of {notebook.name}: {path} is missing")
        return cls.load(path, lang)


def readable_strings(source: str) -> list[str]:
    """Comments and prose strings of a code cell, as exact token texts (outside solution regions).

    These are what a translation of the cell must consider: a comment, a docstring, or a string
    with a word in it. Names, keys and format strings without words are left out.
    """
    source = _SOLUTION.sub("", source)
    lines = [line if not line.lstrip().startswith(("%", "!")) else "" for line in source.splitlines(keepends=True)]
    found: list[str] = []
    try:
        tokens = list(tokenize.generate_tokens(io.StringIO("".join(lines)).readline))
    except (tokenize.TokenError, SyntaxError, IndentationError):
        return found
    for tok in tokens:
        if tok.type == tokenize.COMMENT and _WORD.search(tok.string) and not tok.string.startswith("###"):
            found.append(tok.string)
        elif tok.type == tokenize.STRING and " " in tok.string and _WORD.search(tok.string):
            found.append(tok.string)
    return list(dict.fromkeys(found))


def _needs_translation(cell: NotebookNode) -> bool:
    if cell.cell_type == "markdown":
        return bool(_WORD.search(cell.source))
    return cell.cell_type == "code" and bool(readable_strings(cell.source))


def problems(source: NotebookNode, tr: Translation) -> list[str]:
    """Everything that keeps `tr` from being a faithful, current translation of `source`, by cell.

    Empty when every cell that needs a translation has one, each records the hash of the English
    as it is now, each replaced token still occurs, and each translated code cell still parses.
    """
    out = []
    by_id = {c.get("id"): c for c in source.cells}
    for cid in tr.cells:
        if cid not in by_id:
            out.append(f"cell {cid!r}: translated, but the English notebook has no such cell")
    for cell in source.cells:
        cid, entry = cell.get("id"), tr.cells.get(cell.get("id"))
        if entry is None:
            if _needs_translation(cell):
                out.append(f"cell {cid!r}: not translated")
            continue
        if entry.en != english_hash(cell.source):
            out.append(f"cell {cid!r}: the English changed after it was translated (re-translate, then set en: "
                       f"{english_hash(cell.source)})")  # fmt: skip
        if cell.cell_type == "markdown":
            if entry.text is None:
                out.append(f"cell {cid!r}: a markdown cell needs 'text'")
            elif _WORD.search(cell.source) and (
                entry.text.strip() == cell.source.strip() or not _CJK.search(entry.text)
            ):
                out.append(f"cell {cid!r}: 'text' is not translated")
            continue
        for en, _ in entry.replace:
            if en not in cell.source:
                out.append(f"cell {cid!r}: {en[:60]!r} no longer occurs in the English")
        built = _replace(cell.source, entry.replace)
        try:
            ast.parse(_without_magics(built))
        except SyntaxError as err:
            out.append(f"cell {cid!r}: the translated code does not parse (line {err.lineno}: {err.msg})")
    return out


def _untranslated(english: str, text: str) -> bool:
    return text.strip() == english.strip() or not _CJK.search(text)


def _without_magics(source: str) -> str:
    return "".join("\n" if ln.lstrip().startswith(("%", "!")) else ln for ln in source.splitlines(keepends=True))


def _replace(source: str, pairs: list[tuple[str, str]]) -> str:
    for en, other in sorted(pairs, key=lambda p: -len(p[0])):
        source = source.replace(en, other)
    return source


def translate(nb: NotebookNode, tr: Translation, *, cells: str = "all") -> NotebookNode:
    """A copy of `nb` in `tr`'s language: markdown texts replaced, code cells' readable tokens replaced.

    Works on the source, the release (stubs, no hidden tests) and a graded submission alike, since
    cells are found by id. With ``cells="given"``, a student's answer cells are left as they are.
    The first code cell gains the line that switches ``course`` to the language.
    """
    out = copy.deepcopy(nb)
    first_code = True
    for cell in out.cells:
        entry = tr.cells.get(cell.get("id"))
        solution = bool((cell.get("metadata", {}).get("nbgrader") or {}).get("solution"))
        if entry is not None and not (cells == "given" and solution):
            if cell.cell_type == "markdown" and entry.text is not None:
                cell.source = entry.text.rstrip("\n")
            elif cell.cell_type == "code":
                cell.source = _replace(cell.source, entry.replace)
        if cell.cell_type == "code" and first_code:
            first_code = False
            switch = SWITCH.format(lang=tr.lang, comment=SWITCH_COMMENT.get(tr.lang, ""))
            if not cell.source.startswith(switch):
                cell.source = switch + "\n" + cell.source
    out.metadata.setdefault("dlcourse", {})["edition"] = tr.lang
    return out


def skeleton(nb: NotebookNode, lang: str, old: Translation | None = None) -> str:
    """A translation file to fill in: every cell that needs one, with the English still in place.

    Cells `old` translates keep their translation (and their recorded hash, so stale ones still
    show in :func:`problems`; pairs whose English is gone are dropped); new cells get the English
    text, or a pair for each of their :func:`readable_strings` whose translation is the English,
    for a translator to replace.
    """
    cells: dict[str, dict] = {}
    for cell in nb.cells:
        cid = cell.get("id")
        kept = old.cells.get(cid) if old else None
        if not _needs_translation(cell) and kept is None:
            continue
        entry: dict = {"en": kept.en if kept else english_hash(cell.source)}
        if cell.cell_type == "markdown":
            entry["text"] = (kept.text if kept and kept.text is not None else cell.source).rstrip("\n") + "\n"
        else:
            done = dict(kept.replace) if kept else {}
            found = readable_strings(cell.source) if kept is None else [en for en in done if en in cell.source]
            entry["replace"] = [{"en": s, lang: done.get(s, s)} for s in found]
        cells[cid] = entry
    return yaml.dump({"cells": cells}, Dumper=_Dumper, allow_unicode=True, sort_keys=False, width=100)


class _Dumper(yaml.SafeDumper):
    """Multi-line strings as literal blocks, so a translation file reads like the notebook."""


def _str(dumper: yaml.SafeDumper, value: str) -> yaml.Node:
    if "\n" in value and "\t" not in value and not any(ln.endswith(" ") for ln in value.splitlines()):
        style = "|"
    else:
        style = '"' if "'" in value or "\n" in value else None
    return dumper.represent_scalar("tag:yaml.org,2002:str", value, style=style)


_Dumper.add_representer(str, _str)
