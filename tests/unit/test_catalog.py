"""The message catalog is complete and clean. English is the source language: the msgids in the
code and the templates are the English text, so there is no English catalog to fill and nothing
in English can be left untranslated; Spanish is src/lealtad/locales/es/LC_MESSAGES/messages.po.

- every message the code or a template (pages and e-mails) asks for (`_`, `gettext`, `ngettext` and the tables of
  messages said by key) has a Spanish translation that is not empty and not fuzzy, with every
  plural form;
- pybabel counts 0 untranslated and 0 fuzzy entries in the Spanish catalog;
- the catalog holds no entry twice, no obsolete (#~) entries, and no entry that nothing uses."""

from __future__ import annotations

import ast
import re
import subprocess
import sys
from pathlib import Path

from babel.messages.extract import DEFAULT_KEYWORDS, extract
from babel.messages.pofile import read_po
from jinja2 import Environment
from jinja2.ext import babel_extract

from lealtad.kit.catalog import LOCALES, catalog
from lealtad.web import audit_actions, delivery_reasons, value_reasons

PACKAGE = Path(__file__).resolve().parents[2] / "src" / "lealtad"
SPANISH = LOCALES / "es" / "LC_MESSAGES" / "messages.po"
Message = str | tuple[str, str]


def _python_messages() -> set[Message]:
    found: set[Message] = set()
    for path in PACKAGE.rglob("*.py"):
        with path.open("rb") as handle:
            for _line, message, _comments, _context in extract(
                "python", handle, keywords=DEFAULT_KEYWORDS
            ):
                found.add(_message(message))
    return found


def _template_messages() -> set[Message]:
    found: set[Message] = set()
    for path in [*PACKAGE.rglob("templates/*.html"), *PACKAGE.rglob("templates/*.txt")]:
        with path.open("rb") as handle:
            for _line, _function, message, _comments in babel_extract(
                handle, list(DEFAULT_KEYWORDS), [], {"trimmed": "false"}
            ):
                found.add(_message(message))
    return found


def _message(message: object) -> Message:
    """A message as the catalog keys it; "" for a call with no literal (`_(name)`)."""
    if isinstance(message, tuple):
        parts = [p for p in message if isinstance(p, str)]
        return (parts[0], parts[1]) if len(parts) >= 2 else (parts[0] if parts else "")
    return message if isinstance(message, str) else ""


def used_messages() -> set[Message]:
    """What the code and the templates ask the catalog for, read as pybabel's extractors read it,
    and the tables whose values are said through `_` by key."""
    said_by_key = {
        *audit_actions.SAID.values(),
        *audit_actions.KINDS.values(),
        *audit_actions.FIELDS.values(),
        *delivery_reasons.KNOWN.values(),
        *value_reasons.KNOWN.values(),
    }
    return {m for m in _python_messages() | _template_messages() | said_by_key if m}


def source_strings() -> set[str]:
    """Every string literal of the package: Python constants (concatenations joined) and the
    literals of the Jinja templates."""
    strings: set[str] = set()
    for path in PACKAGE.rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text(), str(path))):
            if isinstance(node, ast.Constant) and isinstance(node.value, str):
                strings.add(node.value)
    env = Environment(autoescape=True)
    for path in [*PACKAGE.rglob("templates/*.html"), *PACKAGE.rglob("templates/*.txt")]:
        for _line, kind, value in env.lex(path.read_text()):
            if kind == "string":
                strings.add(ast.literal_eval(value))
    return strings


def test_every_message_asked_for_has_a_spanish_translation_with_its_plural_forms() -> None:
    used = used_messages()
    assert len(used) > 1000, "the extractors found too few messages: are the keywords read?"
    spanish = catalog("es")
    missing = sorted(
        str(m)
        for m in used
        if (isinstance(m, tuple) and m not in spanish.plurals)
        or (isinstance(m, str) and m not in spanish.messages)
    )
    assert missing == [], f"{len(missing)} messages without a Spanish translation:\n" + "\n".join(
        missing
    )


def test_pybabel_counts_no_untranslated_or_fuzzy_entries(tmp_path: Path) -> None:
    with SPANISH.open("rb") as handle:
        read = read_po(handle, locale="es")
    untranslated = [m.id for m in read if m.id and not _complete(m.string)]
    fuzzy = [m.id for m in read if m.id and m.fuzzy]
    # pybabel's own count, as a translator would run it.
    counted = subprocess.run(
        [
            *(sys.executable, "-m", "babel.messages.frontend", "compile", "--statistics"),
            *("-i", str(SPANISH), "-o", str(tmp_path / "messages.mo"), "-l", "es"),
        ],
        capture_output=True,
        text=True,
        check=True,
    )
    said = counted.stdout + counted.stderr
    print(f"\npybabel (es): {said.strip()}; English is the source language (msgids), no catalog")
    found = re.search(r"(\d+) of (\d+) messages", said)
    assert found, said
    assert found.group(1) == found.group(2), said
    # A translation whose %-placeholders differ from its msgid's fails the compile.
    assert "error" not in said, said
    assert untranslated == []
    assert fuzzy == []


def _complete(string: object) -> bool:
    if isinstance(string, tuple | list):
        return all(string)
    return bool(string)


def test_the_spanish_catalog_has_no_duplicate_obsolete_or_unused_entries() -> None:
    text = SPANISH.read_text()
    ids = re.findall(r'^msgid "(.*)"$', text, flags=re.M)
    duplicates = sorted({i for i in ids if ids.count(i) > 1})
    assert duplicates == [], f"entries written twice: {duplicates}"
    assert not re.search(r"^#~", text, flags=re.M), "obsolete (#~) entries are left in the catalog"
    with SPANISH.open("rb") as handle:
        read = read_po(handle, locale="es")
    strings = source_strings()
    unused = sorted(
        str(m.id)
        for m in read
        if m.id
        and not all(part in strings for part in (m.id if isinstance(m.id, tuple) else (m.id,)))
    )
    assert unused == [], f"{len(unused)} entries nothing uses any more:\n" + "\n".join(unused)
