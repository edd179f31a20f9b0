"""The console's member page shows the previous system's lifetime figures beside the customer
value, in Spanish and English with the page's number, money and date formats, and says they are
not part of Lealtad's own figures."""

from __future__ import annotations

import html
import re
from pathlib import Path

from fastapi.testclient import TestClient

from lealtad.db.engine import Database
from lealtad.imports import opening as importer
from lealtad.kit.clock import FixedClock
from tests.conftest import SECRET
from tests.support import admin_login, make_shop


def _line(page: str) -> str:
    found = re.search(r'<p class="previous-system" data-value="previous-system">(.*?)</p>', page)
    assert found, "no previous-system line on the page"
    return html.unescape(re.sub(r"<[^>]+>", "", found.group(1)))


def test_the_member_page_shows_the_figures_in_both_languages(
    db: Database, client: TestClient, clock: FixedClock, tmp_path: Path
) -> None:
    shop = make_shop(db, clock.now(), members_count=2)
    ana, ben = shop.members
    path = tmp_path / "balances.csv"
    path.write_text(
        "member_id,lifetime_spend,lifetime_visits,lifetime_points,lifetime_as_of\n"
        f"{ana},1234567,48,5200,2025-12-31\n"
        f"{ben},,1,,2025-12-31\n",
        encoding="utf-8",
    )
    importer.import_balances(db, shop.id, path, secret_key=SECRET, clock=clock)
    admin_login(client, shop)

    english = client.get(f"/admin/members/{ana}", params={"lang": "en"})
    spanish = client.get(f"/admin/members/{ana}", params={"lang": "es"})

    assert english.status_code == spanish.status_code == 200
    assert _line(english.text) == (
        "Before Lealtad (previous system, as of 31 Dec 2025): 48 visits, €12,345.67 spent, "
        "5,200 points earned"
    )
    assert _line(spanish.text) == (
        "Antes de Lealtad (sistema anterior, a 31 dic 2025): 48 visitas, 12.345,67\xa0€ "
        "gastados, 5.200 puntos ganados"
    )
    assert "not part of the visits, spend, tier or predicted value Lealtad" in english.text
    assert "no forman parte de las visitas" in spanish.text
    # Only what the file gave, in the singular where it is one.
    one = client.get(f"/admin/members/{ben}", params={"lang": "es"})
    assert _line(one.text) == "Antes de Lealtad (sistema anterior, a 31 dic 2025): 1 visita"


def test_a_member_without_figures_shows_no_line(
    db: Database, client: TestClient, clock: FixedClock
) -> None:
    shop = make_shop(db, clock.now(), members_count=1)
    admin_login(client, shop)

    page = client.get(f"/admin/members/{shop.members[0]}", params={"lang": "en"})

    assert page.status_code == 200
    assert "previous-system" not in page.text
    assert "Before Lealtad" not in page.text
