"""In a real browser (headless Chromium), on SQLite and PostgreSQL: a manager uploads a till's
export on Settings > Connectors > Till files, sees what loaded, what was already there and each
rejected row with its reason, downloads the rejects, uploads the same file again without
anything loading twice, and is told in words why a file with semicolons cannot be imported.
The page is read in Spanish and English. Screenshots go to LEALTAD_SCREENSHOT_DIR when set."""

from __future__ import annotations

import csv
import io
import os
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
import pytest

from lealtad.api import create_app
from lealtad.config import Settings
from lealtad.db.engine import Database
from tests.conftest import SECRET
from tests.security import live as serving
from tests.support import PASSWORD, Shop, make_shop

PAGE = "/admin/settings/connectors/files"


@pytest.fixture
def server(db: Database, tmp_path: Path) -> Iterator[str]:
    settings = Settings(
        env="test", secret_key=SECRET, data_dir=tmp_path / "data", log_level="warning"
    )
    with serving.serving(create_app(settings, db=db)) as url:
        yield url


def _shot(page: Any, name: str) -> None:
    folder = os.environ.get("LEALTAD_SCREENSHOT_DIR")
    if folder:
        page.screenshot(path=str(Path(folder) / name), full_page=True)


def _card(url: str, shop: Shop) -> str:
    answer = httpx.get(f"{url}/api/v1/members/{shop.members[0]}", headers=shop.auth("owner"))
    return str(answer.json()["card_number"])


def test_a_manager_uploads_a_till_export_and_reads_its_result(
    server: str, db: Database, page: Any, tmp_path: Path
) -> None:
    shop = make_shop(db, datetime.now(UTC), members_count=1)
    export = tmp_path / "ventas-lunes.csv"
    export.write_text(
        "receipt_id,amount,card_number,occurred_at\n"
        f"CAJA-1,1250,{_card(server, shop)},2026-03-01T09:00:00Z\n"
        "CAJA-2,12.50,,2026-03-01T10:00:00Z\n"
        "CAJA-3,800,,2026-03-01T11:00:00Z\n",
        encoding="utf-8",
    )
    page.goto(f"{server}{PAGE}")
    page.get_by_label("Negocio").fill(shop.slug)
    page.get_by_label("Correo").fill(shop.staff_emails["manager"])
    page.get_by_label("Contraseña").fill(PASSWORD)
    page.get_by_role("button", name="Entrar").click()
    page.get_by_role("heading", name="Ficheros de caja").wait_for()

    page.get_by_label("Fichero exportado por la caja (.csv)").set_input_files(str(export))
    page.get_by_role("button", name="Subir e importar").click()
    result = page.locator("#result")
    result.wait_for()
    assert result.get_attribute("data-result") == "with_rejects"
    assert page.locator('[data-count="loaded"]').inner_text() == "2"
    assert page.locator('[data-count="already"]').inner_text() == "0"
    assert page.locator('[data-count="rejected"]').inner_text() == "1"
    rejected = page.locator("[data-rejects] tbody tr")
    assert rejected.count() == 1
    assert "amount must be a whole number" in rejected.inner_text()
    assert "CAJA-2" in rejected.inner_text()
    _shot(page, "admin-till-files-es.png")
    with page.expect_download() as download:
        page.get_by_role("link", name="Descargar las filas rechazadas (CSV)").click()
    saved = Path(download.value.path())
    assert download.value.suggested_filename == "ventas-lunes.csv.rejects.csv"
    [row] = list(csv.DictReader(io.StringIO(saved.read_text(encoding="utf-8"))))
    assert (row["line"], row["receipt_id"]) == ("3", "CAJA-2")

    # The same file again: every good row is already there, nothing earns twice.
    page.get_by_label("Fichero exportado por la caja (.csv)").set_input_files(str(export))
    page.get_by_role("button", name="Subir e importar").click()
    page.locator('#result [data-count="already"]').wait_for()
    assert page.locator('[data-count="loaded"]').inner_text() == "0"
    assert page.locator('[data-count="already"]').inner_text() == "2"
    member = httpx.get(
        f"{server}/api/v1/members/{shop.members[0]}", headers=shop.auth("owner")
    ).json()
    assert member["balances"]["points"] == 12

    # A file exported with semicolons: refused whole, said in words, the form still there.
    semicolons = tmp_path / "ventas-martes.csv"
    semicolons.write_text("receipt_id;amount\nCAJA-9;100\n", encoding="utf-8")
    page.get_by_label("Fichero exportado por la caja (.csv)").set_input_files(str(semicolons))
    page.get_by_role("button", name="Subir e importar").click()
    alert = page.get_by_role("alert")
    alert.wait_for()
    assert "separadas por punto y coma" in alert.inner_text()
    assert page.get_by_role("button", name="Subir e importar").is_visible()

    page.goto(f"{server}{PAGE}?lang=en")
    page.get_by_role("heading", name="Till files").wait_for()
    history = page.locator("[data-history] tbody tr")
    assert history.count() == 3
    assert "Refused" in history.nth(0).inner_text()
    assert "Loaded, with rows rejected" in history.nth(2).inner_text()
    history.nth(2).get_by_role("link").click()
    page.locator("#result").wait_for()
    # The link opens the file's result in the person's own language (the shop's: Spanish).
    assert "Resultado de ventas-lunes.csv" in page.locator("#result h2").inner_text()
    page.goto(page.url.replace("#result", "&lang=en#result"))
    assert "Result of ventas-lunes.csv" in page.locator("#result h2").inner_text()
    assert "Rejected rows" in page.content()
    _shot(page, "admin-till-files-en.png")
