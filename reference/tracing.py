"""A request's trace id: the caller's W3C ``traceparent`` trace id, else a new one, answered in
``X-Trace-Id``. While a request is served its trace id is ``current``, so the code that meets a
dependency's failure can name the request it failed under without being handed the request."""

from __future__ import annotations

import re
import uuid
from contextvars import ContextVar

TRACEPARENT = re.compile(r"^[0-9a-f]{2}-([0-9a-f]{32})-[0-9a-f]{16}-[0-9a-f]{2}$")
TRACE_HEADER = "X-Trace-Id"

current: ContextVar[str | None] = ContextVar("trace_id", default=None)


def trace_id(traceparent: str | None) -> str:
    """The trace id of a W3C traceparent header, or a new one."""
    match = TRACEPARENT.match(traceparent or "")
    return match.group(1) if match else uuid.uuid4().hex
