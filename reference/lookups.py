"""SQL of lookups, results and deletions; each function runs inside the caller's transaction."""

from __future__ import annotations

from psycopg import AsyncConnection

from reference.results import basic_result


async def result_for(conn: AsyncConnection, word: str) -> dict[str, str]:
    """The stored result of word, created from the basic result on first lookup."""
    fresh = basic_result(word)
    await conn.execute(
        "INSERT INTO results (word, definition, example) VALUES (%s, %s, %s)"
        " ON CONFLICT (word) DO NOTHING",
        (word, fresh["definition"], fresh["example"]),
    )
    cur = await conn.execute("SELECT definition, example FROM results WHERE word = %s", (word,))
    definition, example = await cur.fetchone()
    return {"word": word, "definition": definition, "example": example}


async def record_lookup(conn: AsyncConnection, user: str, word: str) -> None:
    await conn.execute("INSERT INTO lookups (user_id, word) VALUES (%s, %s)", (user, word))


async def history(conn: AsyncConnection, user: str, limit: int) -> list[dict]:
    cur = await conn.execute(
        "SELECT id, word, looked_up_at FROM lookups WHERE user_id = %s"
        " ORDER BY looked_up_at DESC, id DESC LIMIT %s",
        (user, limit),
    )
    return [
        {"id": row_id, "word": word, "looked_up_at": at.isoformat()}
        for row_id, word, at in await cur.fetchall()
    ]


async def delete_lookups(conn: AsyncConnection, user: str, accepted_at: float) -> int:
    """Delete what user had looked up when the deletion was accepted (epoch s).

    Lookups made after the request survive, so replaying an old request is safe.
    """
    cur = await conn.execute(
        "DELETE FROM lookups WHERE user_id = %s AND looked_up_at <= to_timestamp(%s)",
        (user, accepted_at),
    )
    return cur.rowcount
