"""Every drill against a staging the harness did not start.

The embedded stack runs detached (`python -m drillbook.stack up`), as a team's staging would,
and the drills reach it only through the live profile it writes: its endpoints and its bound
runbook commands. The run goes under a subreaper, so any process the harness left running
would be adopted by it and seen; while it runs, every process below pytest is sampled, and
each must be one of the profile's bound commands.
"""

from __future__ import annotations

import json
import os
import shlex
import shutil
import subprocess
import sys
import tempfile
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest
import yaml

from drillbook.redrills import draw_redrills, drawable

ROOT = Path(__file__).resolve().parents[2]
UP_TIMEOUT_S = 240
RUN_TIMEOUT_S = 900
# December re-runs the drills this seed draws (January's and June's: a minute between them).
SEED = 1
pytestmark = [pytest.mark.integration, pytest.mark.timeout(UP_TIMEOUT_S + RUN_TIMEOUT_S + 120)]
# Runs argv[2:] as its child with PR_SET_CHILD_SUBREAPER set, so orphans of that run are
# re-parented to it (a SIGTERM it passes on); then writes the exit status and whatever it
# adopted to argv[1].
REAPER = r"""
import ctypes, json, os, signal, subprocess, sys, time
ctypes.CDLL(None).prctl(36, 1, 0, 0, 0)
child = subprocess.Popen(sys.argv[2:])
signal.signal(signal.SIGTERM, lambda *_: child.terminate())
code = child.wait()
time.sleep(1.0)
me = str(os.getpid())
left = []
for entry in os.listdir("/proc"):
    if not entry.isdigit():
        continue
    try:
        stat = open(f"/proc/{entry}/stat").read().rsplit(")", 1)[1].split()
        argv = open(f"/proc/{entry}/cmdline", "rb").read().decode(errors="replace")
    except OSError:
        continue
    if stat[1] == me:
        left.append({"pid": int(entry), "argv": argv.replace("\0", " ").strip()})
with open(sys.argv[1], "w") as out:
    json.dump({"code": code, "left": left}, out)
"""


def stack(*args: str, timeout_s: float) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "drillbook.stack", *args],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=timeout_s,
    )


def env_file(path: Path) -> dict[str, str]:
    """The KEY='value' lines `up` writes, as a shell would read them."""
    found = {}
    for line in path.read_text(encoding="utf-8").splitlines():
        if line and not line.startswith("#"):
            [assignment] = shlex.split(line)
            key, _, value = assignment.partition("=")
            found[key] = value
    return found


@pytest.fixture(scope="module")
def staging() -> Iterator[tuple[Path, dict[str, str]]]:
    folder = Path(tempfile.mkdtemp(prefix="drillbook-staging-", dir="/tmp"))
    folder.chmod(0o755)
    profile = folder / "staging.yaml"
    try:
        up = stack(
            "up", "--dir", str(folder), "--write-profile", str(profile), timeout_s=UP_TIMEOUT_S
        )
        assert up.returncode == 0, up.stdout + up.stderr
        yield profile, env_file(folder / "staging.env")
    finally:
        stack("down", "--dir", str(folder), timeout_s=120)
        shutil.rmtree(folder, ignore_errors=True)


def bound_commands(profile: Path) -> set[tuple[str, ...]]:
    """The program and module of every bound command (`python -m drillbook.stack`)."""
    bindings = yaml.safe_load(profile.read_text(encoding="utf-8"))["live"]["bindings"]
    return {
        tuple(action["argv"][:3])
        for binding in bindings.values()
        for action in binding.values()
        if action["kind"] == "command"
    }


def descendants(root: int) -> dict[int, str]:
    """pid -> command line of every process below `root` now."""
    parents, argvs = {}, {}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text().rsplit(")", 1)[1].split()
            argv = (entry / "cmdline").read_bytes().decode(errors="replace")
        except OSError:
            continue
        parents[int(entry.name)] = int(stat[1])
        argvs[int(entry.name)] = argv.replace("\0", " ").strip()
    below: dict[int, str] = {}
    frontier = [root]
    while frontier:
        parent = frontier.pop()
        for pid, ppid in parents.items():
            if ppid == parent and pid not in below:
                below[pid] = argvs[pid]
                frontier.append(pid)
    return below


def test_every_drill_passes_on_the_detached_staging_and_the_harness_starts_no_process(
    staging, tmp_path
):
    profile, variables = staging
    report = tmp_path / "reaper.json"
    argv = [
        sys.executable, "-c", REAPER, str(report),
        sys.executable, "-m", "pytest", "-p", "no:cacheprovider", "-q",
        "--dr-env", str(profile), "--dr-reports", str(tmp_path / "reports"), "features/",
        "--dr-seed", str(SEED),
    ]  # fmt: skip
    run = subprocess.Popen(
        argv,
        cwd=ROOT,
        env=os.environ | variables,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    seen: dict[int, str] = {}
    done = threading.Event()

    def sample() -> None:
        while not done.wait(0.1):
            seen.update(descendants(run.pid))

    sampler = threading.Thread(target=sample, daemon=True)
    sampler.start()
    try:
        output, _ = run.communicate(timeout=RUN_TIMEOUT_S)
    finally:
        done.set()
        sampler.join(timeout=5)
        if run.poll() is None:  # timed out: its own SIGTERM handling reverts its faults
            run.terminate()
            run.wait(timeout=60)
    reaped = json.loads(report.read_text())
    assert reaped["code"] == 0, output[-4000:]
    assert " failed" not in output and f"{scenarios_to_run(SEED)} passed" in output, output[-2000:]
    assert reaped["left"] == [], "processes outlived the run"
    commands = bound_commands(profile)
    pytest_cmd = f"{sys.executable} -m pytest"
    others = {
        pid: line
        for pid, line in seen.items()
        if not line.startswith(pytest_cmd)
        and tuple(line.split()[:3]) not in commands
        and line  # a process caught between fork and exec
    }
    assert others == {}, "the harness ran something the profile does not bind"
    assert any(tuple(line.split()[:3]) in commands for line in seen.values())


def scenarios_to_run(seed: int) -> int:
    """Every scenario of features/, and those of the drills December draws with `seed` again."""
    features = sorted((ROOT / "features").glob("*.feature"))
    drawn = draw_redrills(seed, drawable(ROOT / "features")).features
    return sum(scenarios(path) for path in features) + sum(scenarios(Path(p)) for p in drawn)


def scenarios(feature: Path) -> int:
    return sum(line.strip().startswith("Scenario:") for line in feature.read_text().splitlines())
