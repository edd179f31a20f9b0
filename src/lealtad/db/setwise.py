"""Set-wise writes of many rows at once, for the ledger's batches, imports and the API's
group-commit batches: ids reserved up front, and rows inserted or updated through the driver
with each column's own bind processor, so a row is stored exactly as a Core statement stores
it without Core's per-row parameter assembly."""

from __future__ import annotations

from typing import Any

from sqlalchemy import Connection, Date, DateTime, func, select, text


def reserve_ids(conn: Connection, table: Any, count: int) -> list[int]:
    """`count` fresh ids for `table`. PostgreSQL: from the column's own sequence, as a plain
    insert would take them. SQLite: after the largest id, which is safe because every write
    transaction holds the database's write lock from its BEGIN IMMEDIATE (db.engine)."""
    if count == 0:
        return []
    if conn.dialect.name == "postgresql":
        query = text(
            "SELECT nextval(pg_get_serial_sequence(:table, 'id')) FROM generate_series(1, :n)"
        )
        return [int(i) for i in conn.execute(query, {"table": table.name, "n": count}).scalars()]
    top = int(conn.execute(select(func.coalesce(func.max(table.c.id), 0))).scalar_one())
    return list(range(top + 1, top + 1 + count))


def insert_returning_ids(conn: Connection, table: Any, rows: list[dict[str, Any]]) -> list[int]:
    """Inserts the rows with ids chosen up front and returns them in the rows' order: one plain
    executemany, where INSERT ... RETURNING in a known order goes row by row on SQLite."""
    ids = reserve_ids(conn, table, len(rows))
    for values, new_id in zip(rows, ids, strict=True):
        values["id"] = new_id
    insert_many(conn, table, rows)
    return ids


def insert_many(conn: Connection, table: Any, rows: list[dict[str, Any]]) -> None:
    """The rows (all with the same keys) sent with the driver's executemany, each value through
    its column type's own bind processor so it is stored exactly as a Core insert stores it;
    it skips Core's per-row parameter assembly, which was a fifth of an import's time.

    The values are converted a column at a time: a date or time column runs its processor
    once per distinct value (a batch repeats its "now" and each sale's time in several
    tables), and the other columns map theirs over the column without a Python loop per row."""
    if not rows:
        return
    names = list(rows[0])
    dialect = conn.dialect
    if dialect.name == "postgresql" and len(rows) >= MANY_ROWS:
        _copy(conn, table, names, _parameters(dialect, table, names, rows))
        return
    marks = ", ".join(["?" if dialect.paramstyle == "qmark" else "%s"] * len(names))
    sql = f"INSERT INTO {table.name} ({', '.join(names)}) VALUES ({marks})"
    conn.exec_driver_sql(sql, _parameters(dialect, table, names, rows))


# From this many rows on, PostgreSQL gets them in one statement (COPY, or arrays unnested):
# psycopg's executemany sends one statement per row, each parsed, bound and run by the server,
# which was most of an import's time there. Below it, the API's small batches, the two cost
# about the same (docs/benchmarks.md, P2).
MANY_ROWS = 16


def _copy(conn: Connection, table: Any, names: list[str], rows: list[tuple[Any, ...]]) -> None:
    """The rows by `COPY ... FROM STDIN`, in the connection's own transaction. The values are
    those the bind processors gave, as an INSERT would send them; the server reads each by its
    column's type, so what is stored is what the INSERT stores."""
    driver = conn.connection.driver_connection
    assert driver is not None
    statement = f"COPY {table.name} ({', '.join(names)}) FROM STDIN"
    with driver.cursor() as cursor, cursor.copy(statement) as copy:
        for row in rows:
            copy.write_row(row)


def _unnested(
    conn: Connection, table: Any, names: list[str], rows: list[dict[str, Any]]
) -> tuple[str, list[list[Any]]]:
    """PostgreSQL: the rows as one array per column, and the FROM item that turns them back
    into rows named `v` (one statement whatever the number of rows, so it is prepared once)."""
    dialect = conn.dialect
    slot = (table.name, tuple(names))
    source = _SOURCES.get(slot)
    if source is None:
        types = [table.c[n].type.compile(dialect=dialect) for n in names]
        arrays = ", ".join(f"%s::{t}[]" for t in types)
        source = _SOURCES[slot] = f"unnest({arrays}) AS v ({', '.join(names)})"
    return source, [list(c) for c in _columns(dialect, table, names, rows)]


# Each (table, columns)'s FROM item, built once: compiling the column types took longer than a
# small batch's statement (profile, P1 on PostgreSQL).
_SOURCES: dict[tuple[str, tuple[str, ...]], str] = {}


def insert_new_many(conn: Connection, table: Any, rows: list[dict[str, Any]]) -> list[Any]:
    """PostgreSQL: the rows (all with the same keys) in one INSERT ... SELECT FROM unnest ON
    CONFLICT DO NOTHING; the first primary-key column of those that were new. One statement text
    whatever the number of rows, where a multi-row VALUES was compiled anew for every count."""
    if not rows:
        return []
    names = list(rows[0])
    first_key = next(iter(table.primary_key.columns)).name
    source, columns = _unnested(conn, table, names, rows)
    sql = (
        f"INSERT INTO {table.name} ({', '.join(names)}) SELECT * FROM {source} "
        f"ON CONFLICT DO NOTHING RETURNING {first_key}"
    )
    return [row[0] for row in conn.exec_driver_sql(sql, tuple(columns))]


def update_many(
    conn: Connection,
    table: Any,
    rows: list[dict[str, Any]],
    *,
    where: tuple[str, ...],
    add: frozenset[str] = frozenset(),
) -> None:
    """For each row (all with the same keys): UPDATE the table's row whose `where` columns
    equal the row's, setting its other columns (adding to them for those in `add`). Sent as
    `insert_many` does, with the columns' bind processors: Core's per-row parameter assembly
    was most of the time of the per-batch member and balance updates."""
    if not rows:
        return
    names = [n for n in rows[0] if n not in where]
    # One UPDATE ... FROM applies one row per target, where executemany applies each: the
    # same only when no two rows name the same target.
    if (
        conn.dialect.name == "postgresql"
        and len(rows) >= MANY_ROWS
        and len({tuple(r[n] for n in where) for r in rows}) == len(rows)
    ):
        sets = ", ".join(
            f"{n} = {table.name}.{n} + v.{n}" if n in add else f"{n} = v.{n}" for n in names
        )
        match = " AND ".join(f"{table.name}.{n} = v.{n}" for n in where)
        source, columns = _unnested(conn, table, [*names, *where], rows)
        # The join takes its rows in the plan's order, not the rows': lock them first in the
        # `where` order, so that two batches sharing rows (a business's system accounts) wait
        # for each other instead of deadlocking, as executemany in sorted order does.
        order = ", ".join(f"{table.name}.{n}" for n in where)
        conn.exec_driver_sql(
            f"SELECT 1 FROM {table.name}, {source} WHERE {match} ORDER BY {order} "
            f"FOR UPDATE OF {table.name}",
            tuple(columns),
        )
        sql = f"UPDATE {table.name} SET {sets} FROM {source} WHERE {match}"
        conn.exec_driver_sql(sql, tuple(columns))
        return
    mark = "?" if conn.dialect.paramstyle == "qmark" else "%s"
    sets = ", ".join(f"{n} = {n} + {mark}" if n in add else f"{n} = {mark}" for n in names)
    match = " AND ".join(f"{n} = {mark}" for n in where)
    sql = f"UPDATE {table.name} SET {sets} WHERE {match}"
    conn.exec_driver_sql(sql, _parameters(conn.dialect, table, [*names, *where], rows))


def add_many(conn: Connection, table: Any, rows: list[dict[str, Any]], *, add: str) -> None:
    """For each row (all with the same keys, no two with the same primary key): insert it, or
    add its `add` column to the row already there. SQLite: one upsert run as executemany;
    PostgreSQL: one INSERT ... SELECT of the rows unnested, whatever their number."""
    if not rows:
        return
    names = list(rows[0])
    key = ", ".join(c.name for c in table.primary_key.columns)
    update = f"ON CONFLICT ({key}) DO UPDATE SET {add} = {table.name}.{add} + excluded.{add}"
    if conn.dialect.name == "postgresql":
        source, columns = _unnested(conn, table, names, rows)
        sql = f"INSERT INTO {table.name} ({', '.join(names)}) SELECT * FROM {source} {update}"
        conn.exec_driver_sql(sql, tuple(columns))
        return
    marks = ", ".join(["?" if conn.dialect.paramstyle == "qmark" else "%s"] * len(names))
    sql = f"INSERT INTO {table.name} ({', '.join(names)}) VALUES ({marks}) {update}"
    conn.exec_driver_sql(sql, _parameters(conn.dialect, table, names, rows))


def _parameters(
    dialect: Any, table: Any, names: list[str], rows: list[dict[str, Any]]
) -> list[tuple[Any, ...]]:
    return list(zip(*_columns(dialect, table, names, rows), strict=True))


def _columns(dialect: Any, table: Any, names: list[str], rows: list[dict[str, Any]]) -> list[Any]:
    """Each column's values through its type's bind processor, as iterables."""
    columns: list[Any] = [[r[n] for r in rows] for n in names]
    for i, name in enumerate(names):
        column = table.c[name]
        process = column.type._cached_bind_processor(dialect)
        if process is None:
            continue
        distinct = set(columns[i]) if isinstance(column.type, (DateTime, Date)) else None
        # Naive dates and times hash by value, so equal values share one conversion (two aware
        # ones are equal across zones but written with their own wall-clock: no sharing then).
        if distinct is not None and all(getattr(v, "tzinfo", None) is None for v in distinct):
            memo = {value: process(value) for value in distinct}
            columns[i] = map(memo.__getitem__, columns[i])
        else:
            columns[i] = map(process, columns[i])
    return columns
