"""Bring the local environment (PostgreSQL, Redis, Toxiproxy, reference service) up and down.

Its names load on first use: a runbook command of the detached stack (`python -m
drillbook.stack kill-postgres ...`) passes through this package once per fault, and should not
pay for the stack's dependencies (psycopg, boto3, redis) it never uses.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from drillbook.stack.local import LocalSettings, LocalStack
    from drillbook.stack.process import ComponentNotReady

__all__ = ["ComponentNotReady", "LocalSettings", "LocalStack"]


def __getattr__(name: str) -> Any:
    if name in ("LocalSettings", "LocalStack"):
        from drillbook.stack import local

        return getattr(local, name)
    if name == "ComponentNotReady":
        from drillbook.stack.process import ComponentNotReady

        return ComponentNotReady
    raise AttributeError(f"module 'drillbook.stack' has no attribute {name!r}")
