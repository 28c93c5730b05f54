"""The deletion queue: every accepted history deletion, kept in a Redis stream for replay."""

from __future__ import annotations

from dataclasses import dataclass

from redis.asyncio import Redis

STREAM = "glancy:deletions"
_PAGE = 500


@dataclass(frozen=True)
class DeletionRequest:
    request_id: str
    user: str
    accepted_at: float


async def enqueue(redis: Redis, user: str, accepted_at: float) -> str:
    """Append a deletion request; returns its stream id, which is the request id."""
    return await redis.xadd(STREAM, {"user": user, "accepted_at": repr(accepted_at)})


async def accepted_since(redis: Redis, since: float | None) -> list[DeletionRequest]:
    """Requests accepted at or after since (epoch s; None = all), oldest first."""
    found: list[DeletionRequest] = []
    start = "-"
    while page := await redis.xrange(STREAM, min=start, max="+", count=_PAGE):
        for entry_id, fields in page:
            request = DeletionRequest(entry_id, fields["user"], float(fields["accepted_at"]))
            if since is None or request.accepted_at >= since:
                found.append(request)
        start = f"({page[-1][0]}"
    return found
