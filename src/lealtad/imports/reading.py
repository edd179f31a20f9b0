"""An import file's physical lines, read with bounded memory: a line longer than MAX_LINE_BYTES
is read past in chunks and never held whole, and a line that is not UTF-8 text or carries a NUL
byte comes back as a problem for that line alone, so one bad line costs one rejected row, not the
import. CSV records are built on those lines with the same bound."""

from __future__ import annotations

import csv
from collections.abc import Iterator
from dataclasses import dataclass
from typing import BinaryIO

# A row of a till export is a few hundred bytes; 500 items of a purchase fit in about 40 KB.
MAX_LINE_BYTES = 64 * 1024
# How much of an unreadable line goes to the rejects file: enough to find it in the file.
PREVIEW_BYTES = 200
BOM = b"\xef\xbb\xbf"


@dataclass(frozen=True)
class Line:
    """One physical line: its 1-based number, its text with the line ending (None when it cannot
    be read), the reason it cannot, a bounded copy for the rejects file, and its size in bytes."""

    number: int
    text: str | None
    problem: str | None
    preview: str
    size: int


def _too_long(what: str, lo_que: str, detail: str, limit: int = MAX_LINE_BYTES) -> str:
    """The reason for a line or row over the limit, in English and Spanish."""
    return f"{what} longer than {limit} bytes ({detail}) / {lo_que} de más de {limit} bytes"


def lines(f: BinaryIO, limit: int = MAX_LINE_BYTES) -> Iterator[Line]:
    number = 0
    while raw := f.readline(limit + 1):
        number += 1
        if len(raw) > limit and not raw.endswith(b"\n"):
            size = len(raw) + _skip_rest(f, limit)
            preview = _shown(raw[:PREVIEW_BYTES]) + " …"
            problem = _too_long("line", "línea", f"{size} bytes", limit)
            yield Line(number, None, problem, preview, size)
            continue
        if number == 1 and raw.startswith(BOM):
            raw = raw[len(BOM) :]
        yield _decoded(number, raw)


def _decoded(number: int, raw: bytes) -> Line:
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        problem = (
            f"not UTF-8 text: byte 0x{raw[exc.start]:02x} at position {exc.start + 1} / no es "
            "texto UTF-8; save the file as UTF-8 / guárdelo como UTF-8"
        )
        return Line(number, None, problem, _shown(raw), len(raw))
    if "\x00" in text:
        problem = "a NUL byte in the line / un byte NUL en la línea"
        return Line(number, None, problem, _shown(raw), len(raw))
    return Line(number, text, None, "", len(raw))


def _shown(raw: bytes) -> str:
    """Bytes as text that any CSV reader takes: bad bytes and NUL escaped, no line ending."""
    text = raw.decode("utf-8", "backslashreplace").rstrip("\r\n")
    return text.replace("\x00", "\\x00")


def _skip_rest(f: BinaryIO, chunk: int) -> int:
    """Reads to the end of the current line in chunks; the number of bytes read past."""
    skipped = 0
    while part := f.readline(chunk):
        skipped += len(part)
        if part.endswith(b"\n"):
            break
    return skipped


@dataclass(frozen=True)
class Record:
    """One CSV record: the line it begins on, its cells (None when it cannot be read, with the
    reason), a bounded copy of its text for the rejects file, and its size in bytes."""

    line: int
    cells: list[str] | None
    problem: str | None
    original: str
    size: int


class _Unreadable(Exception):
    """Raised through csv.reader to stop it at a line it must not parse."""


class _Feed:
    """The lines csv.reader asks for, one record at a time: where the record began, what it
    read, and a stop at an unreadable line or at a record grown past the line limit (a quoted
    field can run over many lines)."""

    def __init__(self, source: Iterator[Line]) -> None:
        self.source = source
        self.first = 0
        self.texts: list[str] = []
        self.size = 0

    def start_record(self) -> None:
        self.first, self.texts, self.size = 0, [], 0

    def __iter__(self) -> _Feed:
        return self

    def __next__(self) -> str:
        line = next(self.source)
        if not self.first:
            self.first = line.number
        self.size += line.size
        if line.text is None:
            where = f"line {line.number}: " if line.number != self.first else ""
            raise _Unreadable(where + (line.problem or ""), line.preview)
        if self.size > MAX_LINE_BYTES:
            lines = f"lines {self.first}-{line.number}"
            raise _Unreadable(_too_long("row", "fila", lines), self.seen())
        self.texts.append(line.text)
        return line.text

    def seen(self) -> str:
        text = "".join(self.texts).rstrip("\r\n")
        return text[:PREVIEW_BYTES] + (" …" if len(text) > PREVIEW_BYTES else "")


def csv_records(source: Iterator[Line]) -> Iterator[Record]:
    feed = _Feed(source)
    # csv.reader starts each record afresh, so after a stop it goes on with the next line; a
    # quoted field cut by the stop is read from there as rows of its own (rejected or not).
    reader = csv.reader(feed)
    while True:
        feed.start_record()
        try:
            cells = next(reader)
        except StopIteration:
            return
        except _Unreadable as exc:
            problem, preview = exc.args
            yield Record(feed.first, None, problem, preview, feed.size)
            continue
        except csv.Error as exc:
            problem = f"not readable as CSV / no se puede leer como CSV: {exc}"
            yield Record(feed.first, None, problem, feed.seen(), feed.size)
            continue
        yield Record(feed.first, cells, None, "", feed.size)
