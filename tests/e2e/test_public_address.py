"""One public address: the real server, started on a port that is not the default and then
behind a base URL of its own, makes every link and QR code with that address, and each one
answers. The demo is seeded once; each server gets a member, a survey campaign and a worker run
of its own, and a real SMTP server (aiosmtpd) receives what they send."""

from __future__ import annotations

import email
import io
import re
import sqlite3
import subprocess
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from email.message import Message
from pathlib import Path
from typing import Any

import httpx
import pytest
import zxingcpp
from aiosmtpd.controller import Controller
from PIL import Image

from tests.e2e.test_cli import API_KEY, cli_env, lealtad_command
from tests.e2e.test_demo_serves import free_port
from tests.surveys.conftest import survey_body
from tests.web.test_posters import _draw_pdf_code

PASSWORD = "demo-lealtad-2026"
URL = re.compile(r"https?://[^\s\"'<>)]+")
STARTUP_SECONDS = 60


@dataclass
class Inbox:
    mails: list[Message] = field(default_factory=list)

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        self.mails.append(email.message_from_bytes(envelope.original_content))
        return "250 OK"

    def to(self, address: str) -> list[Message]:
        return [m for m in self.mails if m["To"] == address]


@pytest.fixture
def inbox() -> Iterator[tuple[Inbox, int]]:
    box, port = Inbox(), free_port()
    controller = Controller(box, hostname="127.0.0.1", port=port)
    controller.start()
    yield box, port
    controller.stop()


def environment(data_dir: Path, smtp_port: int, **extra: str) -> dict[str, str]:
    env = cli_env(data_dir)
    # Eight processes start here: let them keep their compiled modules (the first writes them).
    env.pop("PYTHONDONTWRITEBYTECODE", None)
    env.update(
        LEALTAD_SMTP_HOST="127.0.0.1",
        LEALTAD_SMTP_PORT=str(smtp_port),
        LEALTAD_SMTP_SECURITY="none",
        **extra,
    )
    return env


def run(env: dict[str, str], *args: str) -> str:
    done = subprocess.run(
        [*lealtad_command(), *args],
        env=env,
        cwd=env["LEALTAD_DATA_DIR"],
        stdin=subprocess.DEVNULL,
        capture_output=True,
        text=True,
        timeout=180,
        check=False,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    return done.stdout


@contextmanager
def server(env: dict[str, str], port: int, log: Path) -> Iterator[httpx.Client]:
    """`lealtad serve --port` in its own process, until the block ends."""
    with log.open("w") as out:
        proc = subprocess.Popen(
            [*lealtad_command(), "serve", "--port", str(port)],
            env=env,
            cwd=env["LEALTAD_DATA_DIR"],
            stdin=subprocess.DEVNULL,
            stdout=out,
            stderr=subprocess.STDOUT,
        )
    try:
        with httpx.Client(base_url=f"http://127.0.0.1:{port}", timeout=30) as http:
            deadline = time.monotonic() + STARTUP_SECONDS
            while True:
                assert proc.poll() is None, log.read_text()
                try:
                    if http.get("/healthz").status_code == 200:
                        break
                except httpx.TransportError:
                    pass
                assert time.monotonic() < deadline, log.read_text()
                time.sleep(0.2)
            yield http
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=15)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


def text_of(mail: Message) -> str:
    return "\n".join(
        part.get_payload(decode=True).decode()  # type: ignore[union-attr]
        for part in mail.walk()
        if part.get_content_type() in ("text/plain", "text/html")
    )


def links_of(mail: Message) -> set[str]:
    found = set(URL.findall(text_of(mail)))
    for header in mail.get_all("List-Unsubscribe", []):
        found |= set(URL.findall(header))
    return {link.replace("&amp;", "&") for link in found}


def check_all_answer(base: str, links: set[str]) -> None:
    """Each link names the server it came from and gets a page, not an error, from it."""
    assert links
    wrong = sorted(link for link in links if not link.startswith(base + "/"))
    assert not wrong, f"links not at {base}: {wrong}"
    with httpx.Client(timeout=30) as anyone:
        for link in sorted(links):
            answer = anyone.get(link)
            assert answer.status_code < 400, (link, answer.status_code, answer.text[:300])


def staff_links(http: httpx.Client, base: str) -> set[str]:
    """What an owner is handed: the sign-up link on the settings page, and each location's
    poster (A4 PDF) and table card (PNG) decoded as a phone would."""
    signed_in = http.post(
        "/admin/login",
        data={"business": "demo-cafe", "email": "owner@demo-cafe.example", "password": PASSWORD},
    )
    assert signed_in.status_code == 303, signed_in.text
    settings_page = http.get("/admin/settings").text
    links = {u for u in URL.findall(settings_page) if "/join/" in u}
    assert links == {f"{base}/join/demo-cafe"}, links
    places = http.get("/admin/settings/locations").text
    for location in sorted(set(re.findall(r"/admin/locations/(\d+)/poster\.pdf", places))):
        pdf = http.get(f"/admin/locations/{location}/poster.pdf").content
        png = http.get(f"/admin/locations/{location}/poster.png").content
        on_poster = zxingcpp.read_barcodes(_draw_pdf_code(pdf))[0].text
        on_card = zxingcpp.read_barcodes(Image.open(io.BytesIO(png)))[0].text
        assert on_poster == on_card == f"{base}/join/demo-cafe?loc={location}"
        links.add(on_poster)
    preview = http.get("/admin/messages/preview", params={"template": "campaign"}).text
    # The preview's unsubscribe link is a sample (no message has it): its address is checked.
    assert f"{base}/u/preview" in preview
    return links


def member_links(
    http: httpx.Client, env: dict[str, str], box: Inbox, key: str, who: str
) -> set[str]:
    """A member added through the API, a campaign with a survey to them, two worker runs (a
    process apart from the server), and a wallet login code: the links in what they are sent
    and the referral link they share."""
    auth = {"Authorization": f"Bearer {key}"}
    address = f"{who}@example.org"
    # Whatever the hour the test runs at: no quiet hours to hold the messages back.
    always = {"marketing_per_week": 50, "quiet_start": "00:00", "quiet_end": "00:00"}
    assert http.put("/api/v1/messaging-policy", headers=auth, json=always).status_code == 200
    member = http.post(
        "/api/v1/members",
        headers=auth,
        json={"name": who, "email": address, "tags": [who], "consent": {"email": True}},
    )
    assert member.status_code == 201, member.text
    survey = http.post("/api/v1/surveys", headers=auth, json=survey_body(name=who))
    assert survey.status_code == 201, survey.text
    campaign = {
        "name": who,
        "subject": {"es": "Tu opinión", "en": "Your opinion"},
        "body": {"es": "Un minuto.", "en": "One minute."},
        "tags": [who],
        "survey_id": survey.json()["id"],
    }
    assert http.post("/api/v1/campaigns", headers=auth, json=campaign).status_code == 201
    worker = {k: v for k, v in env.items() if k != "LEALTAD_BASE_URL"}
    for _ in range(2):  # the welcome goes, and the campaign is released; then the campaign goes
        run(worker, "worker", "--once")
    asked = http.post(
        "/w/demo-cafe/login", data={"email": address, "lang": "en"}, follow_redirects=False
    )
    assert asked.status_code < 400, asked.text
    deadline = time.monotonic() + 15  # the login code goes out after the page is answered
    while len(box.to(address)) < 3 and time.monotonic() < deadline:
        time.sleep(0.1)
    mails = box.to(address)
    subjects = sorted(str(m["Subject"]) for m in mails)
    assert len(mails) == 3, subjects  # welcome, campaign, login code
    links = set().union(*(links_of(m) for m in mails))
    assert any("/w/demo-cafe" in link for link in links), links  # the welcome's wallet link
    assert any("/s/" in link for link in links), links  # the survey
    assert any("/u/" in link for link in links), links  # unsubscribe
    referral = http.get(f"/api/v1/members/{member.json()['id']}/referral", headers=auth)
    links.add(referral.json()["link"])
    links.add(http.get("/api/v1/business", headers=auth).json()["signup_url"])
    return links


def test_every_link_and_qr_code_names_the_port_the_server_listens_on_and_then_its_base_url(
    tmp_path: Path, inbox: tuple[Inbox, int]
) -> None:
    box, smtp_port = inbox
    data = tmp_path / "data"
    data.mkdir()
    plain = environment(data, smtp_port)

    port = free_port()
    base = f"http://127.0.0.1:{port}"
    printed = run(plain, "demo", "--no-serve", "--port", str(port))
    assert f"Sign-up:     {base}/join/demo-cafe" in printed
    assert f"{base}/admin" in printed
    assert ":8000" not in printed
    key = API_KEY.search(printed)
    assert key is not None, printed
    with sqlite3.connect(data / "lealtad.db") as db:
        # Four months of made-up history are not mailed out: only this test's members are.
        db.execute("UPDATE outbox SET delivered_at = created_at")
    with server(plain, port, tmp_path / "first.log") as http:
        links = staff_links(http, base) | member_links(http, plain, box, key.group(0), "ana")
        check_all_answer(base, links)

    # Behind a name of its own: LEALTAD_BASE_URL wins over the port, trailing slash and all.
    port = free_port()
    base = f"http://localhost:{port}"
    named = environment(data, smtp_port, LEALTAD_BASE_URL=base + "/")
    printed = run(named, "demo", "--no-serve", "--port", str(port))
    assert f"Sign-up:     {base}/join/demo-cafe" in printed
    assert "127.0.0.1" not in printed
    key = API_KEY.search(printed)
    assert key is not None, printed
    with server(named, port, tmp_path / "second.log") as http:
        links = staff_links(http, base) | member_links(http, named, box, key.group(0), "bob")
        check_all_answer(base, links)
