"""The February cross-AZ switch measured on the embedded environment and on the same stack run
detached and reached through a live profile (bound runbook commands). Prints JSON.

The live path adds a process per fault and remediation (`python -m drillbook.stack ACTION`)
and a round trip through the daemon: this shows what that costs in the measured RTO, and that
the other figures (RPO, the outage the probes saw) agree.

Usage: .venv/bin/python benchmarks/live_vs_local.py [--runs N]
"""

from __future__ import annotations

import argparse
import json
import os
import shlex
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
SCENARIO = "features/2_pitr.feature::test_crossaz_switch_after_the_aza_primary_is_killed"
FIGURES = ("RTO", "RPO", "outage seen by the probes")
TIMEOUT_S = 300


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=3)
    runs = parser.parse_args().runs
    with tempfile.TemporaryDirectory(prefix="drillbook-bench-", dir="/tmp") as tmp:
        folder = Path(tmp)
        folder.chmod(0o755)
        local = [drill(folder / f"local-{n}", "local", {}) for n in range(runs)]
        profile, variables = up(folder / "stack")
        try:
            live = [drill(folder / f"live-{n}", str(profile), variables) for n in range(runs)]
        finally:
            stack("down", "--dir", str(folder / "stack"))
    print(json.dumps({"benchmark": "live_vs_local", "scenario": SCENARIO, "runs": runs,
                      "local": summary(local), "live": summary(live)}, indent=2))  # fmt: skip


def up(folder: Path) -> tuple[Path, dict[str, str]]:
    folder.mkdir(mode=0o755)
    profile = folder / "staging.yaml"
    stack("up", "--dir", str(folder), "--write-profile", str(profile))
    variables = {}
    for line in (folder / "staging.env").read_text(encoding="utf-8").splitlines():
        if line and not line.startswith("#"):
            [assignment] = shlex.split(line)
            key, _, value = assignment.partition("=")
            variables[key] = value
    return profile, variables


def stack(*args: str) -> None:
    subprocess.run(
        [sys.executable, "-m", "drillbook.stack", *args],
        cwd=ROOT,
        check=True,
        capture_output=True,
        timeout=TIMEOUT_S,
    )


def drill(reports: Path, profile: str, variables: dict[str, str]) -> dict:
    """One run of the scenario: its wall time and its ledger's figures."""
    started = time.monotonic()
    result = subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider",
         "--dr-env", profile, "--dr-reports", str(reports), SCENARIO],
        cwd=ROOT, env=os.environ | variables, capture_output=True, text=True, timeout=TIMEOUT_S,
    )  # fmt: skip
    wall = time.monotonic() - started
    [ledger] = (reports / "ledger").glob("DR-*.json")
    entry = json.loads(ledger.read_text(encoding="utf-8"))
    figures = {f["check"]: f["figure"] for f in entry["figures"].values()}
    return {
        "passed": result.returncode == 0,
        "wall_s": round(wall, 2),
        **{name: figures.get(name) for name in FIGURES},
    }


def summary(runs: list[dict]) -> dict:
    measured = [run["RTO"] for run in runs if run["RTO"] is not None]
    return {
        "passed": sum(run["passed"] for run in runs),
        "rto_s_median": statistics.median(measured) if measured else None,
        "rto_s_range": [min(measured), max(measured)] if measured else None,
        "runs": runs,
    }


if __name__ == "__main__":
    main()
