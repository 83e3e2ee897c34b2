"""What is stored, read in one query, compared and put back: the corpus's per-example snapshot (PostgreSQL only).

A property posts one generated form per example, but its fixtures are made once per test: each example takes a
snapshot first, compares after a refused post (nothing may have changed), and puts the snapshot back after an
accepted one, so the next example finds the database as the fixture left it.
"""
from __future__ import annotations

import json

import sqlalchemy as sa

from tests.helpers import require_postgresql as require_postgresql_for
from webapp.extensions import db

# The stored Billing Plan is a cache of a rebuild (webapp/models/billing_plan.py): a page that shows the plan may
# write it, so it is no "stored change" of a post; it is still put back with everything else.
DERIVED = {"billing_plan_rows", "billing_plan_states", "billing_plan_versions"}

Snapshot = dict[str, list[dict]]


def _tables() -> list[sa.Table]:
    return list(db.metadata.sorted_tables)


def _snapshot_sql() -> str:
    parts = []
    for table in _tables():
        order = ", ".join(f'x."{column.name}"' for column in table.primary_key.columns)
        parts.append(f"'{table.name}', (SELECT coalesce(json_agg(x ORDER BY {order}), '[]'::json) "
                     f'FROM "{table.name}" x)')
    return "SELECT json_build_object(" + ", ".join(parts) + ")"


def require_postgresql() -> None:
    """Skip where the database is not PostgreSQL: the snapshots are its json_agg."""
    require_postgresql_for("the corpus's snapshots are json_agg")


def snapshot() -> Snapshot:
    """Every row of every table, as plain JSON values, by table (one statement)."""
    db.session.remove()
    with db.engine.connect() as conn:
        return conn.execute(sa.text(_snapshot_sql())).scalar_one()


def differences(before: Snapshot, after: Snapshot, ignore=DERIVED) -> list[str]:
    """The tables whose rows changed, with the first row that differs (for a failure message)."""
    changed = []
    for name, rows in before.items():
        if name in ignore or after.get(name) == rows:
            continue
        was, now = [r for r in rows if r not in after[name]], [r for r in after[name] if r not in rows]
        changed.append(f"{name}: {was[:1]} -> {now[:1]}")
    return changed


def of_practice(state: Snapshot, practice_id: int) -> Snapshot:
    """The rows that belong to one practice (its own row, and every row with its practice_id)."""
    owned = {"practices": [row for row in state["practices"] if row["id"] == practice_id]}
    for table in _tables():
        if "practice_id" in table.c:
            owned[table.name] = [row for row in state[table.name] if row["practice_id"] == practice_id]
    return owned


def restore(state: Snapshot, tables: list[str] | None = None) -> None:
    """Put `tables` (default: all) back as they were in `state`. Foreign keys are not checked meanwhile (the
    session is a replica's for the transaction): the rows put back are ones that were consistent together."""
    db.session.remove()
    chosen = [table for table in _tables() if tables is None or table.name in tables]
    with db.engine.begin() as conn:
        conn.execute(sa.text("SET LOCAL session_replication_role = replica"))
        conn.execute(sa.text("; ".join(f'DELETE FROM "{table.name}"' for table in reversed(chosen))))
        for table in chosen:
            if state[table.name]:
                conn.execute(sa.text(f'INSERT INTO "{table.name}" SELECT * FROM '
                                     f'json_populate_recordset(NULL::"{table.name}", CAST(:rows AS json))'),
                             {"rows": json.dumps(state[table.name])})
        # Ids go on from the highest there is (a test before may have restarted the sequences at 1).
        counters = [f"setval(pg_get_serial_sequence('\"{table.name}\"', 'id'), "
                    f'coalesce((SELECT max(id) FROM "{table.name}"), 0) + 1, false)'
                    for table in chosen if "id" in table.c and table.c.id.autoincrement in (True, "auto")]
        if counters and tables is None:
            conn.execute(sa.text("SELECT " + ", ".join(counters)))


def new_rows(before: Snapshot, after: Snapshot) -> list[tuple[str, dict]]:
    """The rows `after` holds that `before` did not (new ones, and changed ones as they are now)."""
    return [(name, row) for name, rows in after.items() if rows != before.get(name)
            for row in rows if row not in before.get(name, [])]


def cross_practice_links(after: Snapshot, rows: list[tuple[str, dict]]) -> list[str]:
    """Each of `rows` whose foreign key names a row of another practice (a client's engagement on a service of
    another practice's menu, say)."""
    tables = {table.name: table for table in _tables()}
    owners = {name: {row["id"]: row["practice_id"] for row in after[name]}
              for name, table in tables.items() if "id" in table.c and "practice_id" in table.c}
    found = []
    for name, row in rows:
        for key in tables[name].foreign_keys:
            target, value = key.column.table.name, row.get(key.parent.name)
            if key.parent.name == "practice_id" or value is None or target not in owners or "practice_id" not in row:
                continue
            if owners[target].get(value, row["practice_id"]) != row["practice_id"]:
                found.append(f"{name}.{key.parent.name} = {value}, a row of practice {owners[target][value]}")
    return found


def changed_tables(before: Snapshot, after: Snapshot) -> list[str]:
    return [name for name, rows in before.items() if after.get(name) != rows]
