"""`lealtad keys`: make a personal-data key and rotate the stored data onto the newest one."""

from __future__ import annotations

import secrets
from typing import Annotated

import typer
from rich.console import Console
from rich.progress import Progress

from lealtad.security.crypto import _b64encode, new_key

keys_app = typer.Typer(
    help="Personal-data encryption keys / claves de cifrado de datos personales",
    no_args_is_help=True,
)
out = Console(soft_wrap=True)


@keys_app.command("new")
def keys_new(
    index: Annotated[
        bool, typer.Option("--index", help="a blind-index key / una clave de índice")
    ] = False,
) -> None:
    """Print a fresh key: put it FIRST in LEALTAD_FIELD_KEYS, keep the old ones after it, then
    run `lealtad keys rotate`. / Imprime una clave nueva."""
    print(_b64encode(secrets.token_bytes(32)) if index else new_key())


@keys_app.command("rotate")
def keys_rotate(
    batch: Annotated[int, typer.Option(min=1, max=10000, help="rows per transaction")] = 500,
) -> None:
    """Re-encrypt every personal-data column under the first key and recompute the blind
    indexes; afterwards the older keys can be removed. / Recifra con la clave actual."""
    from lealtad.cli import _migrated_database, _settings
    from lealtad.security import rotation

    db = _migrated_database(_settings())
    try:
        total = rotation.count_rows(db)
        with Progress(console=out, transient=False) as progress:
            task = progress.add_task("Re-encrypting / recifrando", total=total)
            done = rotation.rotate(db, batch=batch, advance=lambda n: progress.advance(task, n))
        assert db.keys is not None
        out.print(
            f"{sum(done.values())} rows now under key / filas con la clave {db.keys.current!r}"
        )
    finally:
        db.dispose()
