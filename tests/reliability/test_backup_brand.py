"""The brand lives in the database, so a backup carries the logo and the colour with it."""

from __future__ import annotations

from pathlib import Path

from lealtad import backup
from lealtad.branding import service as branding
from lealtad.db.engine import Database
from lealtad.tenancy import store as tenancy_store
from lealtad.tenancy.model import Role
from tests.conftest import KEYS
from tests.support import make_shop
from tests.web.test_branding import image


def test_a_backup_carries_the_logo_and_the_colour(sqlite_db, clock, tmp_path: Path) -> None:
    shop = make_shop(sqlite_db, clock.now(), members_count=0)
    logo = image("PNG")
    with sqlite_db.transaction() as conn:
        branding.set_colour(conn, shop.principal(Role.owner), "#0a7d4f", clock.now())
        branding.set_logo(conn, shop.principal(Role.owner), logo, clock.now())
    target = tmp_path / "copy.db"
    backup.backup(str(sqlite_db.engine.url), target)
    copy = Database(f"sqlite:///{target}", keys=KEYS)
    try:
        with copy.read() as conn:
            business = tenancy_store.business(conn, shop.id)
            assert branding.brand(conn, business).colour == "#0a7d4f"
            found = branding.logo(conn, shop.id)
        assert found is not None
        assert found[0] == logo
    finally:
        copy.dispose()
