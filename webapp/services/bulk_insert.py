"""Inserting many rows of one table at once: one statement on PostgreSQL, whatever their number.

On PostgreSQL the rows travel as one array per column and the server unpacks them
(`INSERT … SELECT … FROM unnest(…) WITH ORDINALITY`): a statement with one parameter per column, where
SQLAlchemy's multi-row VALUES sends a statement per 1,000 rows, each with a placeholder per value for the
driver to parse (most of the time a 2,000-invoice approval took). On SQLite (the local default) it is
SQLAlchemy's multi-row VALUES.

These are Core statements on the table: they skip the ORM's unit of work and its flush events.
"""
from collections.abc import Sequence
from typing import Any

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql
from sqlalchemy.types import TypeDecorator

from webapp.extensions import db

Row = dict[str, Any]


def insert_rows(model: Any, rows: Sequence[Row]) -> None:
    """Insert `rows` (dicts with the same keys) into `model`'s table; one statement on PostgreSQL."""
    if rows:
        _insert(model.__table__, rows, returning=False)


def insert_rows_returning_ids(model: Any, rows: Sequence[Row]) -> list[int]:
    """Like `insert_rows`, returning the new rows' ids in the order of `rows` (ids ascend in that order)."""
    if not rows:
        return []
    # The database hands out ids in the order the rows are inserted, but RETURNING lists them in no
    # promised order: sorted, they line up with `rows` again.
    return sorted(_insert(model.__table__, rows, returning=True).scalars())


def _insert(table: sa.Table, rows: Sequence[Row], returning: bool) -> Any:
    if db.session.get_bind().dialect.name == "postgresql":
        return db.session.execute(_unnest_insert(table, rows, returning))
    statement = sa.insert(table)
    # Multi-row VALUES, a batch per ~32,000 values (SQLite inserts them in order, like the unnest below); not
    # sort_by_parameter_order, which SQLAlchemy can only honour on SQLite one row per statement.
    return db.session.execute(statement.returning(table.c.id) if returning else statement, rows)


def _unnest_insert(table: sa.Table, rows: Sequence[Row], returning: bool) -> Any:
    keys = list(rows[0])
    new_rows = (sa.func.unnest(*(_array(table.c[key], [row[key] for row in rows]) for key in keys))
                .table_valued(*keys, with_ordinality="row_order")
                .render_derived(name="new_rows"))
    # Inserted in the order of `rows`, so the sequence hands out ids in that order (what SQLAlchemy's own
    # sort_by_parameter_order relies on on PostgreSQL).
    select = sa.select(*(new_rows.c[key] for key in keys)).order_by(new_rows.c.row_order)
    # from_select adds the model's Python-side defaults (created_at…), worked out once for all the rows.
    statement = sa.insert(table).from_select(keys, select)
    return statement.returning(table.c.id) if returning else statement


def _array(column: sa.Column, values: list[Any]) -> Any:
    """The column's values as one array parameter.

    A column type of our own (Money, UTCDateTime…) converts each value here and the array has the type it
    is stored as: an array of a TypeDecorator needs that decorator to be cacheable, and not all are.
    """
    column_type = column.type
    if isinstance(column_type, TypeDecorator):
        dialect = db.session.get_bind().dialect
        values = [column_type.process_bind_param(value, dialect) for value in values]
        column_type = column_type.load_dialect_impl(dialect)
    # One dimension: a value that is itself a list (a JSON column's) is one element, not a row of a 2-D array.
    return sa.bindparam(column.name, values, type_=postgresql.ARRAY(column_type, dimensions=1))
