"""The March drill with a slow DNS TTL: clients keep the lost region's address for a minute,
which spends more than the 27 s the plan's SLA of 99% over 45 minutes allows. The cutover
itself still recovers well within its 45 minutes: only the SLA check fails, with its figure."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.drills import ROOT, ledger_entries, run_drill

pytestmark = [pytest.mark.integration, pytest.mark.timeout(420)]
FEATURE = ROOT / "features" / "3_region_cutover.feature"
# The front door reads the records when the stack starts, then once a TTL: the cut comes a
# few seconds after the start, so clients follow the weight only at the minute, ~50 s later.
SLOW_TTL_S = 60


def slow_dns(tmp_path: Path) -> tuple[Path, Path]:
    local = (ROOT / "environments" / "local.yaml").read_text(encoding="utf-8")
    profile = tmp_path / "slow-dns.yaml"
    profile.write_text(
        local.replace("local:\n", f"local:\n  dns_ttl_s: {SLOW_TTL_S}\n"), encoding="utf-8"
    )
    feature = tmp_path / "3_region_cutover.feature"
    text = FEATURE.read_text(encoding="utf-8")
    waited = "within 60 seconds the probes succeed again"
    assert waited in text
    feature.write_text(
        text.replace(waited, f"within {2 * SLOW_TTL_S + 30} seconds the probes succeed again")
    )
    return profile, feature


def test_a_slow_dns_ttl_fails_the_plans_sla_with_the_measured_figure(tmp_path: Path) -> None:
    profile, feature = slow_dns(tmp_path)
    reports = tmp_path / "reports"
    done = run_drill(feature, reports, "--dr-env", str(profile))
    assert done.returncode == 1, done.stdout[-3000:]
    [entry] = ledger_entries(reports)
    figures = {f["check"]: f for f in entry["figures"].values()}
    sla = figures["SLA over 45 min"]
    assert sla["verdict"] == "fail", sla
    assert 95.0 < sla["figure"] < 99.0, sla
    [why] = [i["explanation"] for i in entry["issues"] if "error budget" in i["explanation"]]
    assert why.startswith("SLA 9") and "< 99% over the 2700 s from T0" in why, why
    assert "error budget 27.0 s" in why
    rto = figures["RTO"]
    assert rto["verdict"] == "pass" and rto["figure"] > 27, rto
    # the unavailability the SLA counts is the outage the RTO measured, give or take a window,
    # plus the rest of the 45 minutes counted at what the probes saw after the recovery: a
    # straggler failing just after it (a client whose resolver still held the lost region)
    # weighs some 9 s over the 44 minutes not observed
    unavailable_s = (100 - sla["figure"]) / 100 * 45 * 60
    assert -5 < unavailable_s - rto["figure"] < 15, (unavailable_s, rto["figure"])
