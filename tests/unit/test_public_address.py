"""The one public address links are made with, and `--lan`: the machine's own address on its
network, announced with a warning and a QR code a phone can scan off the terminal."""

from __future__ import annotations

import io
import socket
from pathlib import Path

import pytest
import zxingcpp
from PIL import Image, ImageDraw
from pydantic import ValidationError
from rich.console import Console

from lealtad import public_address, serving
from lealtad.config import Settings


def settings(tmp_path: Path, **values: object) -> Settings:
    return Settings(env="test", data_dir=tmp_path, **values)  # type: ignore[arg-type]


def test_the_base_url_wins_over_host_and_port_and_loses_its_trailing_slash(
    tmp_path: Path,
) -> None:
    chosen = settings(tmp_path, base_url="https://club.example.org/", port=9001)
    assert chosen.public_base_url == "https://club.example.org"
    assert serving.address(chosen, None, 9002, lan=True).base == "https://club.example.org"


def test_a_base_url_with_a_path_or_another_scheme_is_refused_at_start(tmp_path: Path) -> None:
    for wrong in ("https://club.example.org/loyalty", "ftp://club.example.org", "club.example"):
        with pytest.raises(ValidationError, match="LEALTAD_BASE_URL"):
            settings(tmp_path, base_url=wrong)


def test_the_port_a_process_was_given_makes_its_links(tmp_path: Path) -> None:
    assert settings(tmp_path, port=8123).public_base_url == "http://127.0.0.1:8123"
    assert serving.address(settings(tmp_path), None, 8124, lan=False).base == (
        "http://127.0.0.1:8124"
    )


def test_a_process_that_does_not_serve_follows_what_the_server_recorded(tmp_path: Path) -> None:
    assert settings(tmp_path).public_base_url == "http://127.0.0.1:8000"
    public_address.record(tmp_path, "http://10.1.2.3:8802")
    assert settings(tmp_path).public_base_url == "http://10.1.2.3:8802"
    # Its own setting still comes first.
    assert settings(tmp_path, port=8125).public_base_url == "http://127.0.0.1:8125"


def test_a_wildcard_bind_address_links_to_the_machines_own_network_address(
    tmp_path: Path,
) -> None:
    found = public_address.lan_address()
    where = serving.address(settings(tmp_path), None, 8126, lan=True)
    assert where.host == "0.0.0.0"
    assert where.base == f"http://{found or '127.0.0.1'}:8126"
    other = settings(tmp_path, host="0.0.0.0", port=8127)
    assert other.public_base_url == f"http://{found or '127.0.0.1'}:8127"
    if found is not None:
        with socket.socket() as s:  # it is one of this machine's own addresses
            s.bind((found, 0))


def _terminal_code(lines: list[str]) -> Image.Image:
    """Paints the half blocks back into modules, four pixels each."""
    scale = 4
    image = Image.new("L", (len(lines[0]) * scale, len(lines) * 2 * scale), 255)
    draw = ImageDraw.Draw(image)
    for y, line in enumerate(lines):
        for x, char in enumerate(line):
            top, bottom = char in "█▀", char in "█▄"
            for half, dark in ((0, top), (1, bottom)):
                if dark:
                    y0 = (2 * y + half) * scale
                    draw.rectangle([x * scale, y0, x * scale + scale - 1, y0 + scale - 1], fill=0)
    return image


def test_lan_mode_warns_in_both_languages_and_prints_a_qr_code_of_the_join_link() -> None:
    where = serving.Address("0.0.0.0", 8802, "http://192.168.1.20:8802")
    join = "http://192.168.1.20:8802/join/demo-cafe"
    screen = io.StringIO()
    serving.announce_lan(Console(file=screen, width=120), where, [("Café", join)], "demo")
    printed = screen.getvalue()
    assert "exposes the demo" in printed
    assert "expone la demo" in printed
    assert "red local" in printed
    assert "local network" in printed
    assert join in printed
    lines = printed.splitlines()
    after = next(i for i, line in enumerate(lines) if join in line) + 1
    code = [line[2:] for line in lines[after:] if line.startswith("  ")]
    assert code == serving.terminal_qr(join)
    decoded = zxingcpp.read_barcodes(_terminal_code(code))
    assert [d.text for d in decoded] == [join]
