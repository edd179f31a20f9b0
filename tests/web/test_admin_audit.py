"""The audit log page and its CSV: newest first, with names, filters, pages, one business only."""

from __future__ import annotations

import csv
import io
import re
from datetime import timedelta

import pytest

from lealtad.tenancy import service as tenancy
from lealtad.tenancy.model import Principal, Role
from tests.support import admin_login


@pytest.fixture(autouse=True)
def _english(client) -> None:
    client.headers["Accept-Language"] = "en"


def _record(db, shop, clock, count: int, action: str = "reward.create", who: str = "manager"):
    actor = Principal(shop.id, Role(who), staff_id=shop.staff[who])
    with db.transaction() as conn:
        for n in range(count):
            at = clock.now() + timedelta(minutes=n)
            tenancy.audit(conn, actor, action, f"reward:{n}", at, n=n)


def test_the_log_shows_who_did_what_newest_first_with_before_and_after(client, shop, clock) -> None:
    csrf = admin_login(client, shop, role="owner")
    client.post(
        f"/admin/settings/locations/{shop.locations[0]}",
        data={"name": "Plaza Mayor", "timezone": "Europe/Madrid", "csrf": csrf},
    )
    client.post("/admin/settings/locations", data={"name": "Airport", "timezone": "", "csrf": csrf})
    page = client.get("/admin/audit")
    assert page.status_code == 200
    actions = re.findall(r'<tr data-action="([^"]+)"', page.text)
    assert actions == ["location.create", "location.update"]
    # Names, not ids: the owner by name, the location by its name now.
    assert "<td>owner</td>" in page.text
    assert "<td>Plaza Mayor</td>" in page.text
    assert "<del>Store 1</del> → <ins>Plaza Mayor</ins>" in page.text


def test_the_log_filters_by_action_and_by_person(client, shop, db, clock) -> None:
    _record(db, shop, clock, 2, "reward.create", "manager")
    _record(db, shop, clock, 3, "survey.create", "owner")
    admin_login(client, shop)
    by_action = client.get("/admin/audit", params={"action": "survey.create"}).text
    assert re.findall(r'data-action="([^"]+)"', by_action) == ["survey.create"] * 3
    assert '<option value="survey.create" selected>' in by_action
    owner = f"staff:{shop.staff['owner']}"
    by_actor = client.get("/admin/audit", params={"actor": owner}).text
    assert re.findall(r'data-action="([^"]+)"', by_actor) == ["survey.create"] * 3
    both = client.get(
        "/admin/audit",
        params={"actor": f"staff:{shop.staff['manager']}", "action": "survey.create"},
    )
    assert "Nothing has been recorded yet for this choice." in both.text


def test_the_log_pages_back_through_older_entries(client, shop, db, clock) -> None:
    _record(db, shop, clock, 53)
    admin_login(client, shop)
    first = client.get("/admin/audit").text
    assert len(re.findall(r"<tr data-action=", first)) == 50
    older = re.search(r'href="(/admin/audit\?[^"]*before=\d+)"', first).group(1)  # type: ignore[union-attr]
    second = client.get(older.replace("&amp;", "&")).text
    assert len(re.findall(r"<tr data-action=", second)) == 3
    assert "before=" not in re.sub(r"<form.*?</form>", "", second, flags=re.S)
    assert "<code>n</code>: 0" in second
    assert "<code>n</code>: 52" in first


def test_the_log_shows_only_this_business(client, shop, other_shop, db, clock) -> None:
    _record(db, other_shop, clock, 2, "secret.other")
    admin_login(client, shop)
    page = client.get("/admin/audit", params={"action": "secret.other"}).text
    assert "Nothing has been recorded yet for this choice." in page
    assert '<option value="secret.other"' not in page
    assert "secret.other" not in client.get("/admin/audit.csv").text


def test_the_csv_holds_the_filtered_log_and_defuses_formulas(client, shop, db, clock) -> None:
    _record(db, shop, clock, 2, "reward.create")
    actor = Principal(shop.id, Role.manager, staff_id=shop.staff["manager"])
    with db.transaction() as conn:
        tenancy.audit(conn, actor, "tag.add", "=HYPERLINK(1)", clock.now(), tag="@evil")
    admin_login(client, shop)
    answer = client.get("/admin/audit.csv")
    assert answer.status_code == 200
    assert answer.headers["content-type"].startswith("text/csv")
    assert "attachment" in answer.headers["content-disposition"]
    rows = list(csv.DictReader(io.StringIO(answer.text)))
    assert [row["action"] for row in rows] == ["tag.add", "reward.create", "reward.create"]
    assert rows[0]["target"] == "'=HYPERLINK(1)"
    assert rows[0]["actor_name"] == "manager"
    assert rows[0]["at_utc"].startswith("2026-03-02T10:30:00")
    assert rows[1]["details"] == '{"n": 1}'
    filtered = client.get("/admin/audit.csv", params={"action": "tag.add"}).text
    assert len(list(csv.DictReader(io.StringIO(filtered)))) == 1


def test_the_csv_of_a_long_log_has_every_entry(client, shop, db, clock) -> None:
    _record(db, shop, clock, 1203)
    admin_login(client, shop)
    rows = list(csv.DictReader(io.StringIO(client.get("/admin/audit.csv").text)))
    assert len(rows) == 1203
    assert len({row["id"] for row in rows}) == 1203


def test_the_audit_page_needs_a_login(client) -> None:
    for path in ("/admin/audit", "/admin/audit.csv"):
        answer = client.get(path, follow_redirects=False)
        assert answer.status_code == 303
        assert answer.headers["location"].startswith("/admin/login")


def test_the_log_shows_from_where_and_the_time_in_the_business_zone(client, shop) -> None:
    csrf = admin_login(client, shop, role="owner")
    client.post(
        f"/admin/settings/locations/{shop.locations[0]}",
        data={"name": "Plaza Mayor", "timezone": "Europe/Madrid", "csrf": csrf},
        headers={"User-Agent": "Firefox/140"},
    )
    page = client.get("/admin/audit").text
    assert "(Europe/Madrid)" in page
    assert "2 Mar 2026, 11:30:00" in page  # 10:30 UTC in Madrid in March
    assert '<div data-channel="admin">admin</div>' in page
    assert "<div>testclient</div>" in page
    assert "Firefox/140" in page


def test_the_log_filters_by_days_of_the_business_calendar(client, shop, db, clock) -> None:
    _record(db, shop, clock, 1, "reward.create")
    actor = Principal(shop.id, Role.manager, staff_id=shop.staff["manager"])
    with db.transaction() as conn:
        # 23:30 UTC on 2 March is already 3 March in Madrid.
        late = clock.now().replace(hour=23, minute=30)
        tenancy.audit(conn, actor, "survey.create", "survey:1", late)
    admin_login(client, shop)
    second = client.get("/admin/audit", params={"start": "2026-03-02", "end": "2026-03-02"})
    assert re.findall(r'data-action="([^"]+)"', second.text) == ["reward.create"]
    third = client.get("/admin/audit", params={"start": "2026-03-03", "end": ""})
    assert re.findall(r'data-action="([^"]+)"', third.text) == ["survey.create"]
    assert 'value="2026-03-03"' in third.text
    csv_rows = list(
        csv.DictReader(
            io.StringIO(client.get("/admin/audit.csv", params={"end": "2026-03-02"}).text)
        )
    )
    assert [row["action"] for row in csv_rows] == ["reward.create"]
    assert client.get("/admin/audit", params={"start": "yesterday"}).status_code == 422


def test_the_json_export_holds_every_entry_with_where_from(client, shop, db, clock) -> None:
    _record(db, shop, clock, 3, "reward.create")
    admin_login(client, shop)
    answer = client.get("/admin/audit.json", params={"action": "reward.create"})
    assert answer.status_code == 200
    assert answer.headers["content-type"].startswith("application/json")
    assert 'filename="audit-log.json"' in answer.headers["content-disposition"]
    entries = answer.json()
    assert [entry["details"] for entry in entries] == [{"n": 2}, {"n": 1}, {"n": 0}]
    assert entries[0]["actor_name"] == "manager"
    assert set(entries[0]) >= {"at", "channel", "ip", "user_agent", "request_id", "target"}
    assert "Download JSON" in client.get("/admin/audit").text


def test_staff_cannot_see_or_export_the_log(client, shop) -> None:
    admin_login(client, shop, role="staff")
    for path in ("/admin/audit", "/admin/audit.csv", "/admin/audit.json"):
        answer = client.get(path, follow_redirects=False)
        assert answer.status_code in (303, 403), (path, answer.status_code)
        assert "data-action" not in answer.text
