"""The container plumbing's errors name what is wrong."""

from __future__ import annotations

import pytest

from drillbook.stack.containers import ContainerRun, engine


def test_no_engine_is_a_clear_error_naming_the_set_up_that_starts_one(monkeypatch, tmp_path):
    monkeypatch.setenv("DOCKER_HOST", f"unix://{tmp_path}/no-docker.sock")
    with pytest.raises(RuntimeError, match=r"no Docker engine answers .*scripts/images.sh"):
        engine()


def test_a_container_the_run_does_not_hold_is_named_with_those_it_does():
    run = ContainerRun(progress=lambda _: None, run="host:1:1")
    with pytest.raises(LookupError, match=r"no container 'db' in this run \(it has: none\)"):
        run.wrapped("db")
