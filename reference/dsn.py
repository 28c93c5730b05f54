"""Show where a DSN points without ever showing its password."""

from __future__ import annotations

import re
from urllib.parse import urlsplit

from psycopg.conninfo import conninfo_to_dict

_URL_PASSWORD = re.compile(r"(\b[a-z][a-z0-9+.-]*://[^:/@\s]*:)[^@\s]*@", re.IGNORECASE)
_KV_PASSWORD = re.compile(r"(\bpassword\s*=\s*)('(?:[^'\\]|\\.)*'|\S+)", re.IGNORECASE)


def mask(text: str) -> str:
    """Replace passwords of URL-style and key=value DSNs found in text by ***."""
    return _KV_PASSWORD.sub(r"\1***", _URL_PASSWORD.sub(r"\1***@", text))


def describe(dsn: str) -> str:
    """``host:port/dbname`` of a libpq DSN (URL or key=value); ValueError if unparsable."""
    try:
        params = conninfo_to_dict(dsn)
    except Exception as exc:  # psycopg raises ProgrammingError with the DSN text in it
        raise ValueError(f"invalid PostgreSQL DSN: {mask(str(exc))}") from None
    host = params.get("host") or params.get("hostaddr") or "localhost"
    return f"{host}:{params.get('port') or 5432}/{params.get('dbname') or params.get('user')}"


def describe_redis(url: str) -> str:
    """``host:port/db`` of a redis:// URL; ValueError if it is not one."""
    try:
        parts = urlsplit(url)
        port = parts.port or 6379
    except ValueError:
        raise ValueError(f"invalid Redis URL: {mask(url)}") from None
    if parts.scheme not in ("redis", "rediss") or not parts.hostname:
        raise ValueError(f"not a redis:// URL: {mask(url)}")
    return f"{parts.hostname}:{port}/{parts.path.strip('/') or 0}"
