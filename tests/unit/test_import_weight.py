"""A web worker that only serves never loads what only some pages, jobs or commands use: every
worker holds what the app imports, twice with two workers (P6, docs/benchmarks.md). numpy and
scipy fit the analytics models (some 90 MB), httpx sends web push (and brings rich, click and
pygments along when they are installed), typer and rich are the command line's, Pillow draws a
wallet pass's images and segno a QR code. Each belongs inside the function that needs it.

The app is created in a fresh interpreter, as uvicorn's worker does, and an import hook writes
down who asked first for each of these modules, so that a failure names the line to move."""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap
from pathlib import Path

NOT_AT_START = (
    "numpy",
    "scipy",
    "httpx",
    "rich",
    "pygments",
    "click",
    "typer",
    "PIL",
    "segno",
)

PROBE = textwrap.dedent(
    """
    import json, sys, traceback

    WATCHED = set(sys.argv[1].split(","))
    first = {}

    class WhoImports:
        def find_spec(self, name, path=None, target=None):
            for watched in WATCHED:
                if (name == watched or name.startswith(watched + ".")) and watched not in first:
                    frames = [f for f in traceback.extract_stack() if "frozen" not in f.filename]
                    first[watched] = [f"{f.filename}:{f.lineno}" for f in frames[-10:-1]]
            return None

    sys.meta_path.insert(0, WhoImports())
    from lealtad.api import create_app

    create_app()
    print(json.dumps(first))
    """
)


def test_creating_the_app_loads_none_of_the_heavy_modules_only_some_paths_need(
    tmp_path: Path,
) -> None:
    env = {
        "LEALTAD_DATA_DIR": str(tmp_path),
        "LEALTAD_DATABASE_URL": f"sqlite:///{tmp_path / 'weight.db'}",
        "LEALTAD_ENV": "test",
        "PATH": "/usr/bin:/bin",
    }
    done = subprocess.run(
        [sys.executable, "-c", PROBE, ",".join(NOT_AT_START)],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    loaded: dict[str, list[str]] = json.loads(done.stdout.strip().splitlines()[-1])
    explained = "\n\n".join(
        f"{module} was imported by (innermost last):\n    " + "\n    ".join(chain)
        for module, chain in loaded.items()
    )
    assert not loaded, (
        "Creating the app loaded modules a web worker does not need; import them inside the "
        f"function that uses them (TYPE_CHECKING for annotations):\n\n{explained}"
    )
