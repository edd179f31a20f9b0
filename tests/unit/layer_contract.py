"""The layer contract that tests/unit/test_layers.py checks: which layer each module is in,
where SQL may be, which modules are pure policy, and the exceptions the code still has, each
named with its reason and its fix (the tests fail on a new one and on one that has gone)."""

from __future__ import annotations

import re

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
    "lealtad.db.setwise": BASE,
    "lealtad.db.plans": BASE,
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
    "lealtad.ledger.opening": CORE,
    "lealtad.ledger.opening_store": CORE,
    "lealtad.ledger.idempotency_store": CORE,
    "lealtad.ledger.verify": CORE,
    "lealtad.rules.definition": CORE,
    "lealtad.rules.earn_rule": CORE,
    "lealtad.rules.program_parts": CORE,
    "lealtad.rules.facts": CORE,
    "lealtad.rules.compile": CORE,
    "lealtad.rules.actions": CORE,
    "lealtad.rules.periods": CORE,
    "lealtad.rules.names": CORE,
    "lealtad.rules.diff": CORE,
    "lealtad.rules.planner": CORE,
    "lealtad.rules.plan_reads": CORE,
    "lealtad.rules.earn_model": CORE,
    "lealtad.rules.program": CORE,
    "lealtad.rules.store": CORE,
    "lealtad.rules.service": CORE,
    "lealtad.tiers.model": CORE,
    "lealtad.analytics.fold": CORE,
    # Purchases as other domains' lists name them (a member's last visit, a ledger line's
    # receipt): only purchases' tables, below the members' list and the ledger's explanation.
    "lealtad.purchases.listing_store": CORE,
    # The ledger's rollups subscriber, and a member's segments with the experiment arm
    # assignment they use: imported by purchases, rewards and campaigns alike, and importing only
    # tables and pure cores, so they sit below every domain that reads them.
    "lealtad.analytics.rollups": CORE,
    # The rollups' members figures and the business's zone, split out of the rollups writer.
    "lealtad.analytics.figures_store": CORE,
    "lealtad.analytics.zone_store": CORE,
    "lealtad.analytics.segments": CORE,
    "lealtad.analytics.uplift": CORE,
    # The segment a campaign's audience is chosen by, joined onto comms' query of members: only
    # analytics' own table, below comms, whose e-mail analytics' reports send through.
    "lealtad.analytics.audience_store": CORE,
    "lealtad.comms.outbox": CORE,
    # Members' events, recorded and read for other domains (a challenge's event total): only
    # the events' tables, below rewards, which events' jobs call.
    "lealtad.events.store": CORE,
    "lealtad.comms.catalog": CORE,
    # Messages to a member that members' code queues in its own transaction (sign-in codes,
    # contact notices): below members, which comms' services read.
    "lealtad.comms.queue_store": CORE,
    "lealtad.api": EDGE,
    "lealtad.deps": EDGE,
    "lealtad.http": EDGE,
    "lealtad.metrics": EDGE,
    "lealtad.cli": EDGE,
    "lealtad.worker": EDGE,
    "lealtad.serving": EDGE,
    "lealtad.prefork": EDGE,
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


# Stores in all but name: the set-wise writes every store's batches use (no table of its own),
# the ledger core's set-wise writer, idempotency claims, maturity and verification (the ledger's
# tables only), the outbox's writer and the analytics rollups' writer.
SQL_IN_THE_CORE = {
    "lealtad.db.setwise",
    "lealtad.ledger.batch",
    "lealtad.ledger.idempotency",
    "lealtad.ledger.maturity",
    "lealtad.ledger.verify",
    "lealtad.comms.outbox",
    "lealtad.analytics.rollups",
}

# ---- the ratchet: what the code still does, each with why ------------------------------------

UPWARD_EXCEPTIONS: dict[tuple[str, str], str] = {}

CYCLE_EXCEPTIONS: dict[tuple[str, str], str] = {}

# Domain packages still reach each other through longer loops: the purchase path's knot, mostly
# through rules.apply (which writes into every domain it awards in), and the read side's, through
# analytics and comms (which read other domains and are read back by events and surveys). The
# knots may shrink or split; no package outside them may join one, and no other may form.
KNOTS = (
    frozenset(f"{p}[domain]" for p in ("members", "products", "purchases", "rewards", "rules")),
    frozenset(f"{p}[domain]" for p in ("analytics", "comms", "events", "surveys")),
)

_READS = "reads other domains' tables for its own answers; fix: each read through the owner's store"
_QUERIES = "queries its own tables outside its store; fix: the queries into the package's store"
SQL_EXCEPTIONS: dict[str, str] = {
    "lealtad.analytics.experiments_report": _READS,
    "lealtad.analytics.kpis": _QUERIES,
    "lealtad.analytics.model_inputs": _READS,
    "lealtad.analytics.owner_home": _READS,
    "lealtad.analytics.rankings": _READS,
    "lealtad.analytics.rebuild": _READS,
    "lealtad.analytics.refresh": _READS,
    "lealtad.analytics.reports": _READS,
    "lealtad.analytics.reward_reach": _READS,
    "lealtad.analytics.segments": _READS,
    "lealtad.metrics": "an edge module counting rows; fix: through the services it reports on",
    "lealtad.security.rotation": "re-encrypts every table's protected columns: it walks the schema",
}


# Pure policy: no database, no web framework, no clock read, in them or in anything they import
# (the planner's unit tests run without either). Pydantic validates the program definition.
PURE = (
    "lealtad.ledger.model",
    "lealtad.rules.definition",
    "lealtad.rules.earn_rule",
    "lealtad.rules.program_parts",
    "lealtad.rules.facts",
    "lealtad.rules.compile",
    "lealtad.rules.actions",
    "lealtad.rules.periods",
    "lealtad.rules.names",
    "lealtad.rules.diff",
    "lealtad.rules.planner",
    "lealtad.rules.plan_reads",
    "lealtad.purchases.refund_plan",
    "lealtad.rules.earn_model",
    "lealtad.rules.program",
    "lealtad.tiers.model",
    "lealtad.tiers.replay",
    "lealtad.analytics.fold",
    "lealtad.comms.catalog",
)
FRAMEWORK = re.compile(r"^\s*(from|import) (sqlalchemy|fastapi|starlette|psycopg)\b", re.M)
