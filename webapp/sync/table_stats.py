"""Fresh planner statistics after a step of the sync wrote many rows to a table the next steps join on.

PostgreSQL plans a query from its statistics of each table, which autovacuum refreshes in the background about a
minute after a table changed a lot. A first sync writes thousands of mirrored contacts and links and joins them
seconds later: planned from "the table is empty", the join of links to contacts (contact_updates' candidates,
contact_numbers' contacts to stamp) became a nested loop reading every contact of the practice once per link,
2,000 x 10,000 rows, 2 to 8 seconds each (bench/first_sync.py). `ANALYZE` of the one table (tens of
milliseconds for 10,000 rows) gives the planner the real numbers, so it joins by the unique index.

Only on PostgreSQL, and only after `many` rows or more were written: a quiet sync analyzes nothing. ANALYZE
by a role that does not own the table is a warning from PostgreSQL, not an error, so it can never fail a sync.
The caller commits first (ANALYZE counts committed rows) and again after.
"""
from typing import Any

from webapp.extensions import db

MANY = 500  # rows written by one step from which the table is analyzed


def analyze_after_writes(model: Any, written: int) -> bool:
    """ANALYZE `model`'s table when MANY rows or more were inserted or updated; True if it was analyzed."""
    if written < MANY or db.session.get_bind().dialect.name != "postgresql":
        return False
    table = model.__table__
    name = db.session.get_bind().dialect.identifier_preparer.format_table(table)
    db.session.execute(db.text(f"ANALYZE {name}"))
    return True
