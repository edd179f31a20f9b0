"""What a person reads on a page or in an e-mail, and the checks of the language sweep
(tests/web/test_language_sweep.py): the other language's sentences, untranslated catalog messages,
and machine text (ids, slugs, dotted keys, JSON paths, Python values, unformatted numbers).

The language detector is deliberately simple, so a failure can be explained in one line:
1. a text that is a catalog message in the other language (an English msgid shown untranslated
   on a Spanish page, or a Spanish translation on an English page);
2. a text with at least two function words of the other language ("the", "your", "with"... /
   "el", "los", "con", "para"...) and more of them than of the page's own language.
Names people and the business typed (members, staff, shops, the business's own notes) are
removed first: they are not in any language."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from functools import cache
from html.parser import HTMLParser

from lealtad.kit.catalog import catalog

# Attributes a person reads or hears (screen readers), and the label of a button.
READ_ATTRIBUTES = ("alt", "title", "aria-label", "placeholder")
BUTTON_TYPES = ("submit", "button", "reset")
# Not read as the page's language: scripts and styles; <code>, which shows what a person types
# elsewhere (a segment's code for the API, an audit action to filter by); and <textarea>, which
# holds what the person typed (the JSON editor's program).
SKIPPED_ELEMENTS = ("script", "style", "template", "code", "textarea")
VOID_ELEMENTS = frozenset(
    [
        "area",
        "base",
        "br",
        "col",
        "embed",
        "hr",
        "img",
        "input",
        "link",
        "meta",
        "source",
        "track",
        "wbr",
    ]
)
Node = tuple[str, str | None]

_ENGLISH = (
    "the your with and of for you this these that from has have was were will yet not are is be "
    "by when which there their our here been what who into than would can't don't isn't to at on "
    "in it its an can cannot only each every all any some least more so"
)
_SPANISH = (
    "el los las del con para tu tus su sus una por que es son está están este esta estos aún "
    "todavía cada hay más se al sin ya desde hasta también y o pero muy cuando la en un de lo le "
    "les han ha"
)
FUNCTION_WORDS = {"en": frozenset(_ENGLISH.split()), "es": frozenset(_SPANISH.split())}
OTHER = {"es": "en", "en": "es"}

MACHINE_PATTERNS: list[tuple[str, re.Pattern[str]]] = [
    # "stamps.coffee", "ledger.adjust", "reward.free-drink", "title.es"; not e-mail addresses,
    # host names or file names (removed before the check, see _without_addresses).
    ("dotted key", re.compile(r"(?<![\w./@-])[a-z][a-z0-9_-]*\.[a-z][a-z0-9_-]*(?![\w@-]|\.\w)")),
    ("snake_case code", re.compile(r"(?<![\w./@-])[a-z][a-z0-9]*(?:_[a-z0-9]+)+(?![\w@-])")),
    ("JSON path", re.compile(r"\b\w+\[\d+\]")),
    ("reference by id", re.compile(r"\b[a-z_]+:\d+\b")),
    ("Python value", re.compile(r"\b(?:None|True|False)\b|\{'|\['|Decimal\(|datetime\(")),
    ("plural placeholder", re.compile(r"\w\((?:s|es)\)")),
    ("ISO date", re.compile(r"\b\d{4}-\d{2}-\d{2}\b")),
    ("float left unformatted", re.compile(r"(?<![\d.,])[+-]?\d+\.0\b(?![.,]\d)")),
    # Babel writes "1,00 €" / "€1.00"; a code after a number with a decimal point is not it.
    # (A code is Babel's own symbol for some pairs, as "1.500 CLP" in Spanish, so it alone is fine.)
    ("money unformatted", re.compile(r"(?<![\d.,])\d+\.\d\d ?[A-Z]{3}\b")),
]
PER_LANGUAGE_PATTERNS: dict[str, list[tuple[str, re.Pattern[str]]]] = {
    # Babel: "12,5 %" and "1.234,50" in Spanish; "12.5%" and "1,234.50" in English.
    "es": [
        ("English decimal point", re.compile(r"(?<![\d.,])\d+\.\d{1,2}(?![\d.,])")),
        ("percent without Babel's space", re.compile(r"\d%")),
        ("plural with one", re.compile(r"(?<![\d.,])1 (?:[a-záéíóúñ]+s)\b")),
        ("missing plural", re.compile(r"\b(?:[Ff]altan|[Qq]uedan) 1(?![\d.,])")),
    ],
    "en": [
        ("Spanish decimal comma", re.compile(r"(?<![\d.,])\d+,\d{1,2}(?![\d.,])")),
        ("percent with a space", re.compile(r"\d %")),
        ("plural with one", re.compile(r"(?<![\d.,])1 (?:[a-z]+s)\b")),
    ],
}
# Words ending in "s" that are singular: "1 mes", "1 bonus".
SINGULAR_S = frozenset(
    {"mes", "lunes", "martes", "miércoles", "jueves", "viernes", "bonus", "plus"}
)
CLAUSE = re.compile(r"(?<=[.;:!?])\s+|\s+[·|–]\s+")
PLACEHOLDER = re.compile(r"\{\{[^}]*\}\}")
# Not machine text for a person: e-mail and web addresses, paths, file names, and an API key's
# public prefix ("lk_3f9a..."), which is how an owner tells one till's key from another.
ADDRESS = re.compile(
    r"[\w.+-]+@[\w.-]+|https?://\S+|/[\w/.{}?=&%-]*"
    r"|\b[\w-]+\.(?:example|org|com|net|pdf|png|csv|json)\b|\blk_[0-9a-f]{6,}\b"
)


class _Reader(HTMLParser):
    """Text nodes with the language they are marked in (`lang` on an element: a campaign's
    English text on a Spanish page is marked so, and read as English)."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.nodes: list[Node] = []
        self._skipping: list[str] = []
        self._langs: list[tuple[str, str | None]] = []

    def _lang(self) -> str | None:
        return next((lang for _, lang in reversed(self._langs) if lang), None)

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        found = dict(attrs)
        if tag in SKIPPED_ELEMENTS:
            self._skipping.append(tag)
            return
        if self._skipping:
            return
        if tag not in VOID_ELEMENTS:
            self._langs.append((tag, (found.get("lang") or "")[:2] or None))
        for name in READ_ATTRIBUTES:
            if found.get(name):
                self.nodes.append((str(found[name]), self._lang()))
        if tag == "input" and found.get("type") in BUTTON_TYPES and found.get("value"):
            self.nodes.append((str(found["value"]), self._lang()))

    def handle_endtag(self, tag: str) -> None:
        if self._skipping:
            if self._skipping[-1] == tag:
                self._skipping.pop()
            return
        # Close up to the matching element (HTML lets some end tags be left out).
        for i in range(len(self._langs) - 1, -1, -1):
            if self._langs[i][0] == tag:
                del self._langs[i:]
                break

    def handle_data(self, data: str) -> None:
        text = " ".join(data.split())
        if text and not self._skipping:
            self.nodes.append((text, self._lang()))


def visible_texts(html: str) -> list[Node]:
    """The text nodes a person reads, and the attributes a reader or screen reader gives,
    each with the language its element is marked in, if any."""
    reader = _Reader()
    reader.feed(html)
    reader.close()
    return reader.nodes


def plain_texts(text: str) -> list[Node]:
    """An e-mail's plain-text part, one node per line."""
    return [(line.strip(), None) for line in text.splitlines() if line.strip()]


@cache
def _catalog_sides() -> tuple[frozenset[str], frozenset[str]]:
    """(English msgids whose Spanish differs, Spanish translations that are no English msgid)."""
    messages = catalog("es").messages
    english = frozenset(k for k, v in messages.items() if k != v and len(k) > 3)
    spanish = frozenset(v for k, v in messages.items() if k != v and len(v) > 3) - set(messages)
    return english, spanish


def _words(text: str) -> list[str]:
    """Whole words of letters only: a code such as "ZQGXS-Y9Y3P" holds no word "y"."""
    return [w for w in re.findall(r"[\w']+", text.lower()) if w.replace("'", "").isalpha()]


@dataclass
class Finding:
    where: str
    lang: str
    kind: str
    text: str

    def __str__(self) -> str:
        return f"{self.where} [{self.lang}] {self.kind}: {self.text!r}"


@dataclass
class Sweep:
    """The checks, with what the business itself typed (names of people and places, its notes),
    which is in no language and is removed from a text before it is read."""

    own_words: list[str] = field(default_factory=list)
    # Program ids and slugs of the business per language: never shown where a title belongs.
    ids: dict[str, set[str]] = field(default_factory=dict)
    findings: list[Finding] = field(default_factory=list)

    def _strip_own(self, text: str) -> str:
        for word in sorted(self.own_words, key=len, reverse=True):
            if word:
                text = text.replace(word, " ")
        return text

    def check(self, where: str, page_lang: str, nodes: list[Node]) -> None:
        english, spanish = _catalog_sides()
        for node, marked in nodes:
            lang = marked if marked in OTHER else page_lang
            other_catalog = english if lang == "es" else spanish
            # {{ name }}: a field a campaign's author may write, shown as they write it.
            text = PLACEHOLDER.sub(" ", self._strip_own(node)).strip()
            if not text:
                continue
            for kind, text_found in self._language(lang, text, other_catalog):
                self.findings.append(Finding(where, lang, kind, text_found))
            for kind, text_found in self._machine(lang, text):
                self.findings.append(Finding(where, lang, kind, text_found))

    def _language(
        self, lang: str, text: str, other_catalog: frozenset[str]
    ) -> list[tuple[str, str]]:
        other = OTHER[lang]
        stripped = text.rstrip(":.…").strip()
        if stripped in other_catalog or text in other_catalog:
            name = "English catalog message untranslated" if lang == "es" else "Spanish message"
            return [(name, text)]
        # Clause by clause, so that an English reason after a Spanish lead-in is found.
        for clause in [text, *CLAUSE.split(text)]:
            words = _words(clause)
            theirs = sum(1 for w in words if w in FUNCTION_WORDS[other])
            ours = sum(1 for w in words if w in FUNCTION_WORDS[lang])
            if theirs >= 2 and theirs > ours:
                return [("English sentence" if other == "en" else "Spanish sentence", text)]
        return []

    def _machine(self, lang: str, text: str) -> list[tuple[str, str]]:
        bare = ADDRESS.sub(" ", text)
        found: list[tuple[str, str]] = []
        for kind, pattern in [*MACHINE_PATTERNS, *PER_LANGUAGE_PATTERNS[lang]]:
            for match in pattern.finditer(bare):
                token = match.group(0)
                if kind == "plural with one" and token.split()[-1] in SINGULAR_S:
                    continue
                found.append((kind, f"{token} in {text[:160]!r}"))
        for raw in self.ids.get(lang, set()):
            if re.search(rf"(?<![\w./@-]){re.escape(raw)}(?![\w@-])", bare):
                found.append(("program id or slug", f"{raw} in {text[:160]!r}"))
        return found
