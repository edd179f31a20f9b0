"""The layers of the code, checked on every import of every module under src/lealtad (at the top,
inside functions and under TYPE_CHECKING alike: a lazy import is still a dependency, and a type
named across a layer still couples the two):

    0 base     kit, errors, config, db basics (metadata, engine, inserts), field encryption
    1 cores    every domain's tables; the ledger core (journal, lots, balances, idempotency,
               verification), the rules core (definition, compile, facts, periods, names) and
               the tiers model: pure policy and the ledger's own store
    2 domain   the domain services: members, purchases, rewards, comms, analytics, events,
               tenancy, surveys, ... (service, store, model modules)
    3 edges    the app and its routers (`api`, `pages`), the web layer, the CLI, the worker,
               the wiring of subscribers, the schema aggregate and the migrations

A module may import its own layer and the ones below, never one above. Domain packages may not
import each other both ways, nor join the one knot of longer loops that remains. SQL (`select(`, `insert(`, a `.tables` import) lives in stores.
What the code still does against these rules is listed below by name with its reason; the tests
fail on anything new and on a listed exception that has gone (so the lists only shrink).
The graph is mapped with `python tests/unit/test_layers.py`, which prints every cycle."""

from __future__ import annotations

import ast
import re
from collections import defaultdict
from collections.abc import Iterator
from functools import cache
from pathlib import Path

SRC = Path(__file__).resolve().parents[2] / "src"
ROOT = SRC / "lealtad"

BASE, CORE, DOMAIN, EDGE = 0, 1, 2, 3
NAMES = {BASE: "base", CORE: "core", DOMAIN: "domain", EDGE: "edge"}

# Longest prefix wins; a module matched by nothing here is a domain module.
LAYER_OF_PREFIX = {
    "lealtad": BASE,  # the package itself: its version
    "lealtad.kit": BASE,
    "lealtad.errors": BASE,
    "lealtad.config": BASE,
    "lealtad.public_address": BASE,
    "lealtad.db.metadata": BASE,
    "lealtad.db.engine": BASE,
    "lealtad.db.inserts": BASE,
    "lealtad.security.crypto": BASE,
    "lealtad.security.fields": BASE,
    "lealtad.security.proxies": BASE,
    "lealtad.ledger.model": CORE,
    "lealtad.ledger.tables": CORE,
    "lealtad.ledger.store": CORE,
    "lealtad.ledger.service": CORE,
    "lealtad.ledger.batch": CORE,
    "lealtad.ledger.subscribers": CORE,
    "lealtad.ledger.idempotency": CORE,
    "lealtad.ledger.maturity": CORE,
    "lealtad.ledger.adjustments": CORE,
    "lealtad.ledger.verify": CORE,
    "lealtad.rules.definition": CORE,
    "lealtad.rules.facts": CORE,
    "lealtad.rules.compile": CORE,
    "lealtad.rules.actions": CORE,
    "lealtad.rules.periods": CORE,
    "lealtad.rules.names": CORE,
    "lealtad.rules.diff": CORE,
    "lealtad.rules.planner": CORE,
    "lealtad.rules.store": CORE,
    "lealtad.tiers.model": CORE,
    "lealtad.analytics.fold": CORE,
    "lealtad.comms.outbox": CORE,
    "lealtad.comms.catalog": CORE,
    "lealtad.api": EDGE,
    "lealtad.deps": EDGE,
    "lealtad.http": EDGE,
    "lealtad.metrics": EDGE,
    "lealtad.cli": EDGE,
    "lealtad.worker": EDGE,
    "lealtad.serving": EDGE,
    "lealtad.backup": EDGE,
    "lealtad.demo": EDGE,
    "lealtad.demo_people": EDGE,
    "lealtad.wiring": EDGE,
    "lealtad.web": EDGE,
    "lealtad.db.schema": EDGE,
    "lealtad.db.migrate": EDGE,
    "lealtad.db.migrations": EDGE,
    "lealtad.security.headers": EDGE,
    "lealtad.security.rotation": EDGE,
}
# Inside a domain package these modules are its edge: JSON routers, pages, commands.
EDGE_NAME = re.compile(r"^(api|pages|cli)$|_api$|_cli$|^api_schemas$")
# The modules that may hold SQL: each domain's store and tables, the ledger core's set-wise writer.
STORE_NAME = re.compile(r"^(store|tables)$|_store$|^store_|_tables$")
SQL = re.compile(r"\bselect\(|\binsert\(|\.tables import")


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


# Stores in all but name: the ledger core's set-wise writer, idempotency claims, maturity and
# verification (the ledger's tables only), the outbox's writer and the analytics rollups' writer.
SQL_IN_THE_CORE = {
    "lealtad.ledger.batch",
    "lealtad.ledger.idempotency",
    "lealtad.ledger.maturity",
    "lealtad.ledger.verify",
    "lealtad.comms.outbox",
    "lealtad.analytics.rollups",
}

# ---- the ratchet: what the code still does, each with why ------------------------------------

_COUNTERS = (
    "counts what it did in the process's Prometheus counters, which metrics.py keeps beside the "
    "HTTP middleware and the /metrics route; fix: the counters in a module below the domains "
    "(or a step of the purchase writer's batch), the middleware and route left in the edge"
)
UPWARD_EXCEPTIONS: dict[tuple[str, str], str] = {
    ("lealtad.purchases.service", "lealtad.metrics"): _COUNTERS,
    ("lealtad.rewards.redemption", "lealtad.metrics"): _COUNTERS,
    ("lealtad.security.limits", "lealtad.http"): (
        "the attempt limits answer a refused request themselves (http.answer_error) and install "
        "into the app; fix: `install` and the answer in an edge module, the counting below"
    ),
    ("lealtad.tenancy.audit_context", "lealtad.http"): (
        "the audit reads the request id's context variable, which http.py defines; fix: the "
        "variable in kit, set by http's middleware and read by the audit"
    ),
}

_APPLY = (
    "rules.apply writes what a purchase earns into every domain (ledger, stamp cards, tiers, "
    "badges, segments, outbox) and its callers read the program from rules.service; fix: the "
    "pure earn planner (issue 18, part 1) returns values and the one writer applies them, so "
    "rules imports none of its callers"
)
CYCLE_EXCEPTIONS: dict[tuple[str, str], str] = {
    ("analytics[domain]", "comms[domain]"): (
        "campaigns target analytics' segments and measure uplift, while analytics' reports are "
        "e-mailed and its offers rendered as messages; fix: sending reports and rendering offers "
        "move into comms, leaving analytics a read side that imports no sender"
    ),
    ("analytics[domain]", "rewards[domain]"): (
        "a redemption writes its rollup (analytics.rollups.on_redemption) and rewards target "
        "segments, while analytics' KPIs and offers read rewards; fix: the redemption rollup as "
        "a subscriber named in lealtad.wiring, like the ledger's, and segment membership read "
        "from a store below both"
    ),
    ("analytics[domain]", "rules[domain]"): _APPLY + " (segment conditions come in as state)",
    ("purchases[domain]", "rules[domain]"): _APPLY,
    ("rewards[domain]", "rules[domain]"): _APPLY
    + "; the starting programs and templates name rewards (rules.starting, rules.templates), "
    "which belong with onboarding, above both",
}

# Ten domain packages still reach each other through longer loops, mostly through rules.apply
# (which writes into every domain) and through analytics and comms (which read every domain and
# are read back). The knot may shrink; no package outside it may join, and no second one may form.
KNOT = frozenset(
    f"{p}[domain]"
    for p in (
        "analytics",
        "branding",
        "comms",
        "events",
        "members",
        "products",
        "purchases",
        "rewards",
        "rules",
        "surveys",
    )
)

_READS = "reads other domains' tables for its own answers; fix: each read through the owner's store"
_QUERIES = "queries its own tables outside its store; fix: the queries into the package's store"
SQL_EXCEPTIONS: dict[str, str] = {
    "lealtad.analytics.cli": "an edge command reading tables; fix: through analytics' services",
    "lealtad.analytics.experiments": _QUERIES,
    "lealtad.analytics.experiments_report": _READS,
    "lealtad.analytics.kpis": _READS,
    "lealtad.analytics.offers": _READS,
    "lealtad.analytics.owner_home": _READS,
    "lealtad.analytics.preferences": _QUERIES,
    "lealtad.analytics.rebuild": _READS,
    "lealtad.analytics.refresh": _READS,
    "lealtad.analytics.reports": _READS,
    "lealtad.analytics.reward_reach": _READS,
    "lealtad.analytics.segments": _READS,
    "lealtad.comms.api": "an edge router querying; fix: through comms' services",
    "lealtad.comms.campaigns": _READS,
    "lealtad.comms.delivery_log": _READS,
    "lealtad.comms.dispatch": _QUERIES,
    "lealtad.comms.email": _QUERIES,
    "lealtad.comms.messages": _READS,
    "lealtad.comms.policy": _QUERIES,
    "lealtad.comms.push": _QUERIES,
    "lealtad.comms.reminders": _READS,
    "lealtad.comms.unsubscribe": _QUERIES,
    "lealtad.comms.webhook_delivery": _QUERIES,
    "lealtad.comms.webhooks": _QUERIES,
    "lealtad.events.jobs": _READS,
    "lealtad.events.service": _QUERIES,
    "lealtad.exports.service": _READS,
    "lealtad.imports.batch": _READS + " (the set-wise import path, to become the one writer)",
    "lealtad.ledger.explained": _READS,
    "lealtad.members.contact": _QUERIES,
    "lealtad.members.listing": _READS,
    "lealtad.members.login": _QUERIES,
    "lealtad.members.pii": _QUERIES,
    "lealtad.members.pin": _READS,
    "lealtad.metrics": "an edge module counting rows; fix: through the services it reports on",
    "lealtad.privacy.erasure": _READS,
    "lealtad.privacy.export": _READS,
    "lealtad.purchases.bulk": _READS + " (the set-wise import path, to become the one writer)",
    "lealtad.rewards.donations": _QUERIES,
    "lealtad.rewards.gamification": _READS,
    "lealtad.rewards.gamification_api": "an edge router querying; fix: through rewards' services",
    "lealtad.rewards.ratings": _QUERIES,
    "lealtad.rewards.redemption": _QUERIES,
    "lealtad.rewards.service": _QUERIES,
    "lealtad.security.limits": _READS,
    "lealtad.security.rotation": "re-encrypts every table's protected columns: it walks the schema",
    "lealtad.tenancy.audit_objects": _READS,
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


def test_no_package_joins_the_knot_of_longer_loops() -> None:
    found = knots()
    assert len(found) <= 1, f"a second knot of packages importing each other: {found}"
    joined = sorted(set().union(*found) - KNOT)
    assert joined == [], f"these joined the loop of {sorted(KNOT)}: {joined}"
    left = sorted(KNOT - set().union(*found))
    assert left == [], f"fixed: remove from KNOT: {left}"


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


# Pure policy: no database, no web framework, no clock read, in them or in anything they import
# (the planner's unit tests run without either). Pydantic validates the program definition.
PURE = (
    "lealtad.ledger.model",
    "lealtad.rules.definition",
    "lealtad.rules.facts",
    "lealtad.rules.compile",
    "lealtad.rules.actions",
    "lealtad.rules.periods",
    "lealtad.rules.names",
    "lealtad.rules.diff",
    "lealtad.rules.planner",
    "lealtad.tiers.model",
    "lealtad.analytics.fold",
    "lealtad.comms.catalog",
)
FRAMEWORK = re.compile(r"^\s*(from|import) (sqlalchemy|fastapi|starlette|psycopg)\b", re.M)


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
