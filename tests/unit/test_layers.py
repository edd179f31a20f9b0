"""The layers of the code, checked on every import of every module under src/lealtad (at the top,
inside functions and under TYPE_CHECKING alike: a lazy import is still a dependency, and a type
named across a layer still couples the two):

    0 base     kit, errors, config, db basics (metadata, engine, inserts), field encryption
    1 cores    every domain's tables; the ledger core (journal, lots, balances, idempotency,
               verification); the rules core (definition, compile, facts, periods, names, the
               planner, the program's versions); the tiers model; the outbox and message
               catalog; analytics' fold, rollups writer, segments and arm assignment:
               pure policy and the cores' own stores
    2 domain   the domain services: members, purchases, rewards, comms, analytics, events,
               tenancy, surveys, ... (service, store, model modules)
    3 edges    the app and its routers (`api`, `pages`), the web layer, the CLI, the worker,
               the wiring of subscribers, the schema aggregate and the migrations

A module may import its own layer and the ones below, never one above. Domain packages may not
import each other both ways, nor join the knots of longer loops that remain (KNOTS). SQL (`select(`,
`insert(`, a `.tables` import) lives in stores. The layers and what the code still does against
these rules (by name, with its reason and its fix) are in tests/unit/layer_contract.py; the tests
fail on anything new and on a listed exception that has gone (so the lists only shrink).
The graph is mapped with `python -m tests.unit.test_layers`, which prints every cycle."""

from __future__ import annotations

import ast
from collections import defaultdict
from collections.abc import Iterator
from functools import cache
from pathlib import Path

from tests.unit.layer_contract import (
    BASE,
    CORE,
    CYCLE_EXCEPTIONS,
    DOMAIN,
    EDGE,
    EDGE_NAME,
    FRAMEWORK,
    KNOTS,
    LAYER_OF_PREFIX,
    NAMES,
    PURE,
    SQL,
    SQL_EXCEPTIONS,
    SQL_IN_THE_CORE,
    STORE_NAME,
    UPWARD_EXCEPTIONS,
)

SRC = Path(__file__).resolve().parents[2] / "src"
ROOT = SRC / "lealtad"


def layer_of(module: str) -> int:
    parts = module.split(".")
    for n in range(len(parts), 0, -1):
        found = LAYER_OF_PREFIX.get(".".join(parts[:n]))
        if found is not None and (n > 1 or len(parts) == 1):
            return found
    if module.endswith(".tables"):
        return CORE
    return EDGE if EDGE_NAME.search(parts[-1]) else DOMAIN


def package_of(module: str) -> str:
    parts = module.split(".")
    return parts[1] if len(parts) > 1 else "lealtad"


def modules() -> Iterator[tuple[str, Path]]:
    for path in sorted(ROOT.rglob("*.py")):
        parts = list(path.relative_to(SRC).with_suffix("").parts)
        if parts[-1] == "__init__":
            parts.pop()
        yield ".".join(parts), path


KNOWN = {name for name, _ in modules()}


@cache
def imports() -> dict[tuple[str, str], list[int]]:
    """(importer, imported module) -> lines, for every import of lealtad by lealtad."""
    found: dict[tuple[str, str], list[int]] = defaultdict(list)
    for name, path in modules():
        package = name if path.name == "__init__.py" else name.rpartition(".")[0]
        for node in ast.walk(ast.parse(path.read_text(), str(path))):
            if isinstance(node, ast.Import):
                targets = [alias.name for alias in node.names]
            elif isinstance(node, ast.ImportFrom):
                base = node.module or ""
                if node.level:
                    up = package.split(".")[: len(package.split(".")) - node.level + 1]
                    base = ".".join([*up, *([base] if base else [])])
                # `from lealtad.rules import service` imports the module lealtad.rules.service.
                targets = [
                    f"{base}.{a.name}" if f"{base}.{a.name}" in KNOWN else base for a in node.names
                ]
            else:
                continue
            for target in targets:
                if target.split(".")[0] == "lealtad" and target != name:
                    found[(name, target)].append(node.lineno)
    return found


def upward() -> set[tuple[str, str]]:
    return {
        (importer, imported)
        for importer, imported in imports()
        if layer_of(imported) > layer_of(importer)
    }


def component(module: str) -> str:
    """Cycles are counted between domain packages; a package's core and its edge are apart from
    its services (the edge may compose anything below it)."""
    return f"{package_of(module)}[{NAMES[layer_of(module)]}]"


def cycles() -> set[tuple[str, str]]:
    edges = {
        (component(a), component(b))
        for a, b in imports()
        if {layer_of(a), layer_of(b)} <= {CORE, DOMAIN} and component(a) != component(b)
    }
    return {tuple(sorted(e)) for e in edges if (e[1], e[0]) in edges}  # type: ignore[misc]


def knots() -> set[frozenset[str]]:
    """Components that reach each other through longer loops (strongly connected, more than one)."""
    graph: dict[str, set[str]] = defaultdict(set)
    for a, b in imports():
        if {layer_of(a), layer_of(b)} <= {CORE, DOMAIN} and component(a) != component(b):
            graph[component(a)].add(component(b))

    def reach(start: str) -> set[str]:
        seen, todo = {start}, [start]
        while todo:
            for nxt in graph[todo.pop()] - seen:
                seen.add(nxt)
                todo.append(nxt)
        return seen

    reaches = {c: reach(c) for c in list(graph)}
    return {
        frozenset(c2 for c2 in reaches[c] if c in reaches.get(c2, set()))
        for c in reaches
        if any(c in reaches.get(c2, set()) for c2 in reaches[c] - {c})
    }


def sql_outside_stores() -> set[str]:
    return {
        name
        for name, path in modules()
        if layer_of(name) != BASE
        and not STORE_NAME.search(name.rsplit(".", 1)[-1])
        and name not in SQL_IN_THE_CORE
        and SQL.search(path.read_text())
    }


def test_no_module_imports_a_layer_above_its_own() -> None:
    found = upward()
    new = sorted(
        f"{a} ({NAMES[layer_of(a)]}) imports {b} ({NAMES[layer_of(b)]})"
        for a, b in found - UPWARD_EXCEPTIONS.keys()
    )
    assert new == [], "imports pointing up a layer:\n" + "\n".join(new)
    gone = sorted(f"{a} -> {b}" for a, b in UPWARD_EXCEPTIONS.keys() - found)
    assert gone == [], "fixed: remove from UPWARD_EXCEPTIONS:\n" + "\n".join(gone)


def test_no_two_domain_packages_import_each_other() -> None:
    found = cycles()
    new = sorted(f"{a} <-> {b}" for a, b in found - CYCLE_EXCEPTIONS.keys())
    assert new == [], "packages importing each other:\n" + "\n".join(new)
    gone = sorted(f"{a} <-> {b}" for a, b in CYCLE_EXCEPTIONS.keys() - found)
    assert gone == [], "fixed: remove from CYCLE_EXCEPTIONS:\n" + "\n".join(gone)


def test_no_package_joins_the_knots_of_longer_loops() -> None:
    found = knots()
    grown = sorted(sorted(knot) for knot in found if not any(knot <= listed for listed in KNOTS))
    assert grown == [], f"packages joined a knot, or a new knot formed: {grown}"
    left = sorted(sorted(listed) for listed in KNOTS if listed not in found)
    assert left == [], f"fixed or shrunk: update KNOTS to what is left: {left}; found {found}"


def test_sql_lives_in_the_stores() -> None:
    found = sql_outside_stores()
    new = sorted(found - SQL_EXCEPTIONS.keys())
    assert new == [], "move these queries into their domain's store:\n" + "\n".join(new)
    gone = sorted(SQL_EXCEPTIONS.keys() - found)
    assert gone == [], "fixed: remove from SQL_EXCEPTIONS:\n" + "\n".join(gone)


def test_the_edges_never_hold_sql() -> None:
    """The web layer's rule (tests/unit/test_web_layout.py), for every edge module."""
    found = sorted(m for m in sql_outside_stores() if layer_of(m) == EDGE)
    listed = sorted(m for m in SQL_EXCEPTIONS if layer_of(m) == EDGE)
    assert found == listed


def test_the_pure_cores_reach_no_database_and_no_framework() -> None:
    graph = imports()
    paths = dict(modules())
    reached, todo = set(), [m for m in PURE if m in paths]
    while todo:
        module = todo.pop()
        if module in reached:
            continue
        reached.add(module)
        todo.extend(b for a, b in graph if a == module and b in paths)
    heavy = sorted(m for m in reached if FRAMEWORK.search(paths[m].read_text()))
    assert heavy == [], f"pure policy reaches a database or a framework through: {heavy}"


if __name__ == "__main__":
    graph = imports()
    for a, b in sorted(upward()):
        print(f"up     {a} -> {b}  line {graph[(a, b)]}")
    for a, b in sorted(cycles()):
        print(f"cycle  {a} <-> {b}")
        for (x, y), lines in sorted(graph.items()):
            if {component(x), component(y)} == {a, b} and component(x) != component(y):
                print(f"         {x} -> {y} {lines}")
    for knot in knots():
        print(f"knot   {sorted(knot)}")
    for name in sorted(sql_outside_stores()):
        print(f"sql    {name}")
