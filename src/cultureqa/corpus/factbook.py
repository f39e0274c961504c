"""CIA World Factbook profiles (JSON): one article per country, one section per field.

The public-domain Factbook is a world-culture corpus anyone can clone (its JSON export: one
file per country, section → field → optional sub-fields → {"text": ...}). Article id = the file
stem (`bt`, the GEC code), title = the country's conventional short name, heading path =
`Section > Field` (`People and Society > Languages`). Values carry HTML fragments and entities;
they are cleaned to plain text.
"""

from __future__ import annotations

import html
import re
from typing import Any

from cultureqa.corpus.jsondata import load_json
from cultureqa.corpus.model import Article, Paragraph, build_sections
from cultureqa.corpus.source import SourceFile
from cultureqa.errors import CorpusError

# Profiles with no conventional short name: the world, the EU and the oceans.
NAMELESS = {
    "xx": "World",
    "ee": "European Union",
    "oo": "Southern Ocean",
    "xo": "Indian Ocean",
    "xq": "Arctic Ocean",
    "zh": "Atlantic Ocean",
    "zn": "Pacific Ocean",
}

_BREAK = re.compile(r"<br\s*/?>|</p>|</li>", re.IGNORECASE)
_TAG = re.compile(r"<[^>]*>")
_SPACES = re.compile(r"[ \t\r\f\v]+")


def clean(value: str) -> str:
    """HTML fragment to plain text: line breaks kept, tags dropped, entities decoded."""
    text = _TAG.sub("", _BREAK.sub("\n", value))
    lines = (_SPACES.sub(" ", html.unescape(line)).strip() for line in text.split("\n"))
    return "\n".join(line for line in lines if line)


def is_profile(data: Any) -> bool:
    return (
        isinstance(data, dict)
        and any(k in data for k in ("Introduction", "Geography", "Government"))
        and all(
            isinstance(fields, dict) and all(isinstance(v, dict | str) for v in fields.values())
            for fields in data.values()
        )
    )


def country_name(data: dict[str, Any], stem: str) -> str:
    names = data.get("Government", {}).get("Country name", {})
    for form in ("conventional short form", "conventional long form"):
        value = clean(str(names.get(form, {}).get("text", "")))
        if value and value.lower() != "none":
            return value
    return NAMELESS.get(stem, stem)


_PARENTHETICAL = re.compile(r"\([^)]*\)|\[[^\]]*\]")
_ALTERNATIVES = re.compile(r",|/|\bor\b")
# Where a profile gives the other names its country goes by: (section, field, sub-field).
ALIAS_FIELDS = (
    ("Government", "Country name", "conventional long form"),
    ("Government", "Country name", "local short form"),
    ("Government", "Country name", "former"),
    ("Government", "Country name", "abbreviation"),
    ("People and Society", "Nationality", "noun"),
    ("People and Society", "Nationality", "adjective"),
)
MAX_ALIAS_WORDS = 4  # "Republic of Korea" is a name; a long form with a note is not


def aliases_of(data: dict[str, Any], name: str) -> tuple[str, ...]:
    """The profile's other names for its country, as questions use them: "Burma", "British",
    "Swiss", "UK" (long forms cut at their note; plural marks and glosses dropped)."""
    found: dict[str, str] = {}
    for section, field, sub in ALIAS_FIELDS:
        value = data.get(section, {}).get(field, {}).get(sub, {})
        text = clean(str(value.get("text", ""))) if isinstance(value, dict) else ""
        text = _PARENTHETICAL.sub("", text.split(";")[0])
        for part in _ALTERNATIVES.split(text):
            alias = " ".join(part.split())
            words = len(alias.split())
            if alias.lower() not in ("", "none", name.lower()) and words <= MAX_ALIAS_WORDS:
                found.setdefault(alias.lower(), alias)
    return tuple(found.values())


def _field_paragraphs(value: Any) -> list[str]:
    if isinstance(value, str):
        return [clean(value)]
    if not isinstance(value, dict):
        return []
    if "text" in value and isinstance(value["text"], str):
        out = [clean(value["text"])]
        if isinstance(value.get("note"), str):
            out.append(f"note: {clean(value['note'])}")
        return out
    out = []
    for name, sub in value.items():
        for text in _field_paragraphs(sub):
            out.append(f"{name}: {text}")
    return out


def parse_factbook(text: str, source: SourceFile) -> list[Article]:
    data = load_json(text)
    if not is_profile(data):
        raise CorpusError("not a Factbook profile (sections of fields)")
    stem = source.path.stem
    name = country_name(data, stem)
    blocks: list[tuple[str, ...] | Paragraph] = []
    number = 0
    for section, fields in data.items():
        for field, value in fields.items():
            try:
                paragraphs = [p for p in _field_paragraphs(value) if p]
            except RecursionError as exc:  # sub-fields nested past Python's stack
                raise CorpusError(f"{section} > {field}: nested too deeply") from exc
            if not paragraphs:
                continue
            blocks.append((section, field))
            for paragraph in paragraphs:
                number += 1  # JSON lines mean little: number the values instead
                blocks.append(Paragraph(paragraph, number))
    return [
        Article(
            id=stem,
            title=name,
            sections=build_sections(blocks),
            source_file=source.display,
            place=name,
            country=name,
            aliases=aliases_of(data, name),
            language="en",
        )
    ]
