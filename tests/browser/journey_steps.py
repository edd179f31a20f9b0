"""The steps of a template's journey after the set-up, each as a person does it in the browser:
the poster printed and read by a phone's camera, a customer joining on the phone, staff at the
counter tapping product buttons, the member redeeming in the wallet, staff validating the
voucher, the owner reading the home page. Shared by tests/browser/test_template_journeys.py."""

from __future__ import annotations

import io
import re
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urljoin

import pypdfium2
import zxingcpp
from aiosmtpd.controller import Controller
from PIL import Image

from lealtad.rules.templates import TEMPLATES
from lealtad.web.counter.forms import receipt_for
from tests.e2e.test_demo_serves import free_port
from tests.e2e.test_public_address import Inbox, environment, run, server, text_of

STAFF_PASSWORD = "journey-staff-2026"
Translate = Callable[[str], str]


@dataclass
class Install:
    """A `lealtad serve` of a data directory of its own, with the mail it sends."""

    url: str
    env: dict[str, str]
    inbox: Inbox


@contextmanager
def fresh_install(data_dir: Path, log: Path, database_url: str = "") -> Iterator[Install]:
    """An empty data directory (and an empty PostgreSQL database when given), migrated, served
    by `lealtad serve` on a free port, mailing to a real SMTP server."""
    box, smtp_port = Inbox(), free_port()
    smtp = Controller(box, hostname="127.0.0.1", port=smtp_port)
    smtp.start()
    data_dir.mkdir(parents=True, exist_ok=True)
    extra = {"LEALTAD_DATABASE_URL": database_url} if database_url else {}
    env = environment(data_dir, smtp_port, **extra)
    port = free_port()
    try:
        run(env, "migrate")
        with server(env, port, log):
            yield Install(f"http://127.0.0.1:{port}", env, box)
    finally:
        smtp.stop()


def join_link_on_settings(owner: Any, _: Translate) -> str:
    """The sign-up address the console hands the owner on the business settings page."""
    sections = owner.get_by_role("navigation", name=_("Console sections"))
    sections.get_by_role("link", name=_("Settings"), exact=True).click()
    owner.wait_for_url(re.compile(r"/admin/settings(\?|$)"))
    text = owner.content()
    found = sorted(set(re.findall(r"https?://[^\s\"'<>]+/join/[a-z0-9-]+", text)))
    assert len(found) == 1, found
    return found[0]


def poster_link(owner: Any, _: Translate) -> tuple[str, str]:
    """The poster PDF as the owner downloads it from the locations page, rendered as a printer
    would (PDFium) and read as a phone's camera would (zxing): the address in its QR code, and
    the poster's words."""
    sections = owner.get_by_role("navigation", name=_("Console sections"))
    sections.get_by_role("link", name=_("Settings"), exact=True).click()
    owner.get_by_role("navigation", name=_("Settings")).get_by_role(
        "link", name=_("Locations")
    ).click()
    # Headless Chromium neither shows nor downloads a PDF it is sent inline: the link's file
    # is fetched with the page's own cookies, as "Save link as" would.
    href = owner.get_by_role("link", name="PDF").first.get_attribute("href")
    answer = owner.request.get(urljoin(owner.url, href))
    assert answer.ok, answer.status
    assert answer.headers["content-type"] == "application/pdf"
    pdf = answer.body()
    assert pdf.startswith(b"%PDF"), pdf[:100]
    document = pypdfium2.PdfDocument(pdf)
    try:
        assert len(document) == 1
        image = document[0].render(scale=2).to_pil().convert("L")
    finally:
        document.close()
    words = document_text(pdf)
    codes = zxingcpp.read_barcodes(image)
    assert len(codes) == 1, f"{len(codes)} codes on the poster"
    return str(codes[0].text), words


def document_text(pdf: bytes) -> str:
    document = pypdfium2.PdfDocument(pdf)
    try:
        return "\n".join(page.get_textpage().get_text_bounded() for page in document)
    finally:
        document.close()


def raw_ids(template: str, text: str) -> list[str]:
    """The template's ids and slugs (rules, cards, tiers, rewards) that show in `text`: a page
    names them by their titles. Only ids with a hyphen are looked for: a one-word id such as
    "coffee" or "gold" is also an English word."""
    program = TEMPLATES[template].build()
    ids = {r.id for r in program.rules} | {c.id for c in program.stamp_cards}
    ids |= {c.reward for c in program.stamp_cards}
    ids |= {r.slug for r in TEMPLATES[template].rewards}
    if program.tiers:
        ids |= {t.id for t in program.tiers.levels}
    return sorted(
        i for i in ids if "-" in i and re.search(rf"(?<![\w-]){re.escape(i)}(?![\w-])", text)
    )


def mailed_code(inbox: Inbox, address: str) -> str:
    """The six-digit code of the last mail to `address` (it leaves after the page answers)."""
    deadline = time.monotonic() + 15
    while not inbox.to(address):
        assert time.monotonic() < deadline, f"no e-mail reached {address}"
        time.sleep(0.05)
    found = re.search(r"\b(\d{6})\b", text_of(inbox.to(address)[-1]))
    assert found, "no six-digit code in the e-mail"
    return found.group(1)


def member_joins(phone: Any, link: str, inbox: Inbox, name: str, address: str, _: Translate) -> str:
    """A customer opens the poster's link, joins, types the mailed code and lands on the card;
    the card's QR token, read from the screen as the counter's scanner would."""
    phone.goto(link)
    phone.get_by_label(_("Your name")).fill(name)
    phone.get_by_label(_("Your e-mail")).fill(address)
    phone.locator("input[name=accept_terms]").check()
    phone.get_by_role("button", name=_("Get my card")).click()
    phone.get_by_label(_("Six-digit code")).fill(mailed_code(inbox, address))
    phone.get_by_role("button", name=_("Open my card")).click()
    phone.locator("[data-card-qr] svg").wait_for()
    shot = phone.locator("[data-card-qr] svg").screenshot()
    token = str(zxingcpp.read_barcodes(Image.open(io.BytesIO(shot)))[0].text)
    assert token.startswith("LT2-"), token
    return token


def owner_adds_staff(owner: Any, template: str, _: Translate) -> str:
    """The owner gives the counter an account of its own at the shop; its e-mail."""
    address = f"counter@{template}.example"
    sections = owner.get_by_role("navigation", name=_("Console sections"))
    sections.get_by_role("link", name=_("Settings"), exact=True).click()
    owner.get_by_role("navigation", name=_("Settings")).get_by_role("link", name=_("Staff")).click()
    owner.wait_for_url(re.compile(r"/admin/settings/staff(\?|$)"))
    owner.locator("#new-name").fill(_("Counter"))
    owner.locator("#new-email").fill(address)
    owner.locator("#new-password").fill(STAFF_PASSWORD)
    # The shop's one location, so the counter's sales and sign-ups are recorded there.
    owner.get_by_label(_("Location"), exact=True).select_option(index=1)
    owner.get_by_role("button", name=_("Add staff member")).click()
    owner.get_by_role("cell", name=address).wait_for()
    return address


def staff_sign_in(counter: Any, url: str, slug: str, address: str, _: Translate) -> None:
    counter.goto(f"{url}/counter")
    counter.get_by_label(_("Business")).fill(slug)
    counter.get_by_label(_("E-mail"), exact=True).fill(address)
    counter.get_by_label(_("Password")).fill(STAFF_PASSWORD)
    counter.get_by_role("button", name=_("Log in")).click()
    counter.get_by_label(_("Scan the card, or type a card number, e-mail or phone")).wait_for()


def product_title(template: str, sku: str, lang: str) -> str:
    product = next(p for p in TEMPLATES[template].products if p.sku == sku)
    return product.title_es if lang == "es" else product.title_en


def reward_title(template: str, slug: str, lang: str) -> str:
    reward = next(r for r in TEMPLATES[template].rewards if r.slug == slug)
    assert reward.title is not None
    return str(getattr(reward.title, lang))


def scan(counter: Any, token: str, member_name: str) -> None:
    """A wedge scanner types the card's code into the scan field and presses Enter."""
    counter.locator("#scan").fill(token)
    counter.keyboard.press("Enter")
    counter.get_by_role("heading", name=member_name).wait_for()


def record_basket(
    counter: Any, template: str, basket: dict[str, int], lang: str, _: Translate
) -> None:
    """Staff tap each product of the basket: once per unit for a few, and for a trade order
    they tap once and type the quantity in the product's count, as the screen invites."""
    for sku, quantity in basket.items():
        title = product_title(template, sku, lang)
        row = counter.locator(".product").filter(
            has=counter.locator(".name", has_text=re.compile(f"^{re.escape(title)}$"))
        )
        assert row.count() == 1, f"no single product button {title!r} at the counter"
        button = row.locator("button.add")
        taps = quantity if quantity <= 5 else 1
        for _tap in range(taps):
            button.click()
        if quantity > taps:
            row.locator("input.count").fill(str(quantity))
        assert row.locator("input.count").input_value() == str(quantity)
    assert counter.locator("#amount").input_value(), "the buttons did not fill in the amount"
    # The sale's receipt number comes from the form's key: the answer to this sale, not the
    # panel of the one before, is the one that shows it.
    receipt = receipt_for(counter.locator("form.sale input[name=key]").input_value())
    counter.get_by_role("button", name=_("Record purchase")).click()
    result = counter.locator(".result").filter(has_text=receipt)
    result.get_by_role("heading", name=_("Purchase recorded")).wait_for()
    said = result.inner_text()
    assert result.locator("[data-award]").count(), f"the purchase earned nothing: {said}"
    assert not raw_ids(template, said), said


def counter_offers(counter: Any, title: str, _: Translate) -> bool:
    return bool(counter.get_by_role("button", name=f"{_('Redeem')}: {title}").count())


def open_tab(phone: Any, _: Translate, name: str, path: str) -> None:
    """A tab of the wallet, opened and loaded (a click only starts the navigation)."""
    tabs = phone.get_by_role("navigation", name=_("Your wallet"))
    tabs.get_by_role("link", name=name, exact=True).click()
    phone.wait_for_url(re.compile(re.escape(path) + r"(\?|$)"))


def wallet_redeems(phone: Any, template: str, title: str, _: Translate) -> str:
    """In the wallet's rewards tab the member redeems `title`, confirms, and reads the voucher's
    code off the screen."""
    open_tab(phone, _, _("Rewards"), "/rewards")
    phone.get_by_role("heading", name=_("Rewards for you")).wait_for()
    tile = phone.locator("li.tile").filter(has=phone.get_by_role("heading", name=title, exact=True))
    assert tile.count() == 1, (
        f"the wallet does not offer {title!r}: " + phone.locator("main").inner_text()
    )
    assert not raw_ids(template, phone.locator("main").inner_text())
    tile.locator("a[data-redeem]").click()
    phone.get_by_role("button", name=_("Confirm")).click()  # nothing is spent before this
    code = phone.locator("[data-voucher-code]").inner_text().strip()
    assert phone.locator("[data-state]").inner_text() == _("Ready to use")
    return str(code)


def counter_validates(counter: Any, url: str, code: str, _: Translate) -> None:
    counter.goto(f"{url}/counter")
    counter.locator("#tool-voucher summary").click()
    counter.get_by_label(_("Voucher code")).fill(code)
    counter.get_by_role("button", name=_("Validate the voucher")).click()
    counter.get_by_text(_("Voucher used: hand over the reward.")).wait_for()


def wallet_shows_used(phone: Any, code: str, _: Translate) -> None:
    """The member's vouchers list the validated voucher among the used ones."""
    open_tab(phone, _, _("Rewards"), "/rewards")
    phone.get_by_role("link", name=_("My vouchers")).click()
    phone.wait_for_url(re.compile(r"/vouchers(\?|$)"))
    used = phone.locator('[data-group="used"]')
    used.wait_for()
    assert used.locator(f'[data-voucher="{code}"]').count() == 1, phone.locator("main").inner_text()


def owner_home_figures(owner: Any, _: Translate) -> dict[str, str]:
    """The figures on the owner's home, by their key."""
    sections = owner.get_by_role("navigation", name=_("Console sections"))
    sections.get_by_role("link", name=_("Home"), exact=True).click()
    owner.locator("[data-figure]").first.wait_for()
    figures = owner.locator("[data-figure]")
    return {
        str(figures.nth(i).get_attribute("data-figure")): figures.nth(i)
        .locator("[data-value]")
        .inner_text()
        .strip()
        for i in range(figures.count())
    }
