"""The watched folder of the CSV drop: which files a till has finished writing, and where a file
goes once read (done/ when every row is in, failed/ when something needs a look, with its
rejects or its error beside it). Files only; the import itself is till_files'.

A file is taken once it has not changed for `settle` seconds between two looks (same size,
same modification time, and nothing written in the last `settle` seconds), so a file still
being copied is left for the next look. A till that writes slowly, or in pauses, should write
under a name the watcher leaves alone (a leading dot, or .part/.tmp at the end) and rename the
file when it is complete: a rename in one folder is atomic."""

from __future__ import annotations

import os
import time
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

DONE, FAILED = "done", "failed"
# Names a till or a copy program writes under before the file is complete.
UNFINISHED = (".part", ".tmp", ".partial", ".crdownload", ".filepart", "~")
# What the watcher and the importer write themselves.
OURS = (".rejects.csv", ".error.txt")
LOCK = ".lealtad-watch.lock"


@dataclass(frozen=True)
class Seen:
    size: int
    mtime_ns: int


Look = dict[str, Seen]


def look(folder: Path) -> Look:
    """Every file in the folder a till may have dropped, with its size and time."""
    found: Look = {}
    with os.scandir(folder) as entries:
        for entry in entries:
            name = entry.name
            if name.startswith(".") or name.endswith(UNFINISHED) or name.endswith(OURS):
                continue
            try:
                if not entry.is_file(follow_symlinks=False):
                    continue
                stat = entry.stat(follow_symlinks=False)
            except OSError:  # gone between the listing and the look
                continue
            found[name] = Seen(stat.st_size, stat.st_mtime_ns)
    return found


def ready(before: Look, after: Look, settle: float, now: float | None = None) -> list[str]:
    """The files unchanged from one look to the next and untouched for `settle` seconds, oldest
    first (the order the till wrote them)."""
    wall = time.time() if now is None else now
    still = [
        name
        for name, seen in after.items()
        if before.get(name) == seen and wall - seen.mtime_ns / 1e9 >= settle
    ]
    return sorted(still, key=lambda name: (after[name].mtime_ns, name))


def file_away(path: Path, outcome: str, at: datetime, error: str | None = None) -> Path:
    """Moves the file, and its rejects file if the importer wrote one, to done/ or failed/ under
    a name stamped with the time (a till often exports under the same name every day); an
    error text goes beside it. Returns where the file now is."""
    target = path.parent / outcome
    target.mkdir(exist_ok=True)
    stamp = at.strftime("%Y%m%dT%H%M%SZ")
    moved = target / f"{stamp}-{path.name}"
    n = 1
    while moved.exists():
        n += 1
        moved = target / f"{stamp}-{n}-{path.name}"
    rejects = path.with_name(path.name + ".rejects.csv")
    if rejects.exists():
        os.replace(rejects, moved.with_name(moved.name + ".rejects.csv"))
    if error is not None:
        moved.with_name(moved.name + ".error.txt").write_text(error + "\n", encoding="utf-8")
    os.replace(path, moved)
    return moved
