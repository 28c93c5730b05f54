"""The SQL the harness runs against Glancy's database, whichever environment holds it.

Every environment reads and writes the service's tables the same way (the drill writer's
table, lookups, profiles, the export queue's tables); keeping the statements in one place keeps
the local and live capabilities reading the same thing.
"""

from collections.abc import Iterator, Sequence

# The writer's table (drillbook.workload.Writer).
WRITES = "drill_writes"
ALL_LOOKUPS = "SELECT id, user_id, word, looked_up_at FROM lookups ORDER BY id"
# Needs track_commit_timestamp, which the stack's PostgreSQL runs with.
LOOKUPS_COMMITTED_BY = (
    "SELECT id, user_id, word, looked_up_at FROM lookups"
    " WHERE pg_xact_commit_timestamp(xmin) <= %s ORDER BY id"
)
COLUMNS = (
    "SELECT column_name FROM information_schema.columns"
    " WHERE table_name = %s ORDER BY ordinal_position"
)


ADD_USER = "INSERT INTO profiles (user_id, daily_lookups) VALUES (%s, %s)"
# The user's lookups of one UTC day, as the service counts them for its quota.
USAGE_OF_DAY = (
    "SELECT count(*) FROM lookups"
    " WHERE user_id = %s AND looked_up_at >= (%s::date)::timestamp AT TIME ZONE 'UTC'"
)
# The task a worker (its consumer name) has started and not finished.
TASK_IN_HAND = """
SELECT task_id, entry_id, extract(epoch FROM started_at)::float8 FROM exports.attempts
WHERE worker = %s AND outcome = 'running' ORDER BY id DESC LIMIT 1
"""
# Every export task: its completion, and the deliveries that reached completion.
RECORDS = """
SELECT t.id, extract(epoch FROM c.completed_at)::float8, c.object_key, c.sha256,
       (SELECT count(*) FROM exports.attempts a
        WHERE a.task_id = t.id AND a.outcome IN ('done', 'reused', 'duplicate'))
FROM exports.tasks t LEFT JOIN exports.completions c ON c.task_id = t.id
"""
IN_RECOVERY = "SELECT pg_is_in_recovery()"
# Every order's payment id and how many entitlements it was granted.
ENTITLEMENTS_BY_ORDER = (
    "SELECT o.payment_id, count(e.id) FROM orders o"
    " LEFT JOIN entitlements e ON e.payment_id = o.payment_id GROUP BY o.payment_id"
)


def inserts(
    table: str, columns: Sequence[str], rows: Sequence[Sequence]
) -> Iterator[tuple[str, list]]:
    """INSERTs of `rows` into `table`, those already there left as they are: one statement
    (and its parameters) per batch, so that a table of any size stays within the protocol's
    65535 parameters a statement."""
    batch = max(1, 65535 // len(columns))
    placeholders = f"({', '.join(['%s'] * len(columns))})"
    for start in range(0, len(rows), batch):
        chunk = rows[start : start + batch]
        values = ", ".join([placeholders] * len(chunk))
        statement = (
            f"INSERT INTO {table} ({', '.join(columns)}) VALUES {values}"  # noqa: S608
            " ON CONFLICT DO NOTHING"
        )
        yield statement, [value for row in chunk for value in row]
