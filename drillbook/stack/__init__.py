"""Bring the local environment (PostgreSQL, Redis, Toxiproxy, reference service) up and down."""

from __future__ import annotations

from drillbook.stack.local import LocalSettings, LocalStack
from drillbook.stack.process import ComponentNotReady

__all__ = ["ComponentNotReady", "LocalSettings", "LocalStack"]
