"""The web layer's layout keeps a screen easy to find: one package per surface (wallet, counter,
admin console) and per console section, each holding its routes, forms and templates; template
names are unique across them (one loader searches every package's templates); no module grows
past about 400 lines."""

from __future__ import annotations

from collections import Counter
from pathlib import Path

WEB = Path(__file__).resolve().parents[2] / "src" / "lealtad" / "web"
SURFACES = ("wallet", "counter", "admin")
SECTIONS = ("customers", "program", "messages", "reports", "settings")
MOST_LINES = 400


def test_each_surface_and_console_section_is_a_package_with_its_routes_and_templates() -> None:
    for package in (*SURFACES, *(f"admin/{s}" for s in SECTIONS)):
        folder = WEB / package
        assert (folder / "__init__.py").is_file(), f"{package} is not a package"
        assert any(folder.glob("*.py")), f"{package} has no modules"
        assert any((folder / "templates").glob("*.html")), f"{package} keeps no templates"
    loose = sorted(p.name for p in WEB.glob("*.py") if p.name.startswith(SURFACES))
    assert loose == [], f"modules of a surface left at the top of the web layer: {loose}"


def test_template_names_are_unique_across_the_packages() -> None:
    names = Counter(p.name for p in WEB.rglob("templates/*.html"))
    assert [name for name, n in names.items() if n > 1] == []


def test_no_module_of_the_web_layer_is_over_400_lines() -> None:
    long = {
        str(p.relative_to(WEB)): n
        for p in WEB.rglob("*.py")
        if (n := len(p.read_text().splitlines())) > MOST_LINES
    }
    assert long == {}, f"split these modules: {long}"


def test_pages_call_the_domain_services_and_never_read_tables_themselves() -> None:
    reading = sorted(
        str(p.relative_to(WEB))
        for p in WEB.rglob("*.py")
        if ".tables import" in (text := p.read_text()) or "select(" in text
    )
    assert reading == [], f"move these queries into their domain's store: {reading}"
