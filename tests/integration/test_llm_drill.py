"""The January drill proves the breaker: a service built without one fails it."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.drills import ROOT, ledger_entries, run_drill

pytestmark = [pytest.mark.integration, pytest.mark.timeout(240)]
FEATURE = ROOT / "features" / "1_llm_degrade.feature"


def profile_without_breaker(tmp_path: Path) -> Path:
    local = (ROOT / "environments" / "local.yaml").read_text(encoding="utf-8")
    path = tmp_path / "no-breaker.yaml"
    path.write_text(local.replace("local:\n", "local:\n  llm_breaker: false\n"), encoding="utf-8")
    return path


def test_january_drill_fails_without_a_circuit_breaker(tmp_path):
    reports = tmp_path / "reports"
    done = run_drill(FEATURE, reports, "--dr-env", str(profile_without_breaker(tmp_path)))
    assert done.returncode == 1, done.stdout[-3000:]
    assert "waiting for the LLM circuit breaker is open" in done.stdout
    assert "last observed: breaker disabled" in done.stdout
    [entry] = ledger_entries(reports)
    assert entry["verdict"] == "fail"
