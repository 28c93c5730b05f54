"""A real local stack for the integration tests, one per test module that asks for it."""

from __future__ import annotations

import shutil
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx
import pytest

from drillbook.stack import LocalSettings, LocalStack


@contextmanager
def running_stack(settings: LocalSettings | None = None) -> Iterator[LocalStack]:
    """Started in a fresh run folder, stopped and removed afterwards."""
    run_dir = Path(tempfile.mkdtemp(prefix="drillbook-test-"))
    run_dir.chmod(0o755)
    try:
        local = LocalStack(settings or LocalSettings(), run_dir, progress=lambda _line: None)
        local.start()
        try:
            yield local
        finally:
            local.stop()
    finally:
        shutil.rmtree(run_dir, ignore_errors=True)


@pytest.fixture(scope="module")
def stack() -> Iterator[LocalStack]:
    with running_stack() as local:
        yield local


def exposed(client: httpx.Client, name: str) -> list[str]:
    """The lines of the service's /metrics exposition of the series `name`."""
    exposition = client.get("/metrics").raise_for_status().text
    return [line for line in exposition.splitlines() if line.startswith(name)]
