"""The detached stack: `python -m drillbook.stack up`, its runbook commands, status and down.

One stack for the module, driven only through the command line, as a runbook or a live
profile's bindings drive it; the tests run in order and the last one takes it down.
"""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
import tempfile
import urllib.request
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import psycopg
import pytest
import redis
import yaml

from drillbook.detached.runbook import RUN_FOLDER
from drillbook.environments.live.operations import OPERATIONS
from drillbook.faults.recover import processes_of
from drillbook.platform.kubernetes import cluster_from_kubeconfig
from drillbook.profile import load_profile
from drillbook.stack.process import pid_alive

pytestmark = pytest.mark.integration

VARIABLE = "DRILLBOOK_STACK_"


def stack(
    stack_dir: Path, *args: str, timeout_s: float = 120.0
) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "drillbook.stack", *args, "--dir", str(stack_dir)],
        capture_output=True,
        text=True,
        timeout=timeout_s,
    )


def action(stack_dir: Path, *args: str) -> Any:
    """The JSON result of a runbook command that must succeed."""
    done = stack(stack_dir, *args)
    assert done.returncode == 0, f"{args}: {done.stderr}"
    return json.loads(done.stdout)


@pytest.fixture(scope="module")
def stack_dir() -> Iterator[Path]:
    path = Path(tempfile.mkdtemp(prefix="drillbook-stack-test-", dir="/tmp"))
    path.chmod(0o755)
    try:
        up = stack(path, "up", timeout_s=240.0)
        assert up.returncode == 0, f"{up.stdout}\n{up.stderr}"
        yield path
    finally:
        stack(path, "down")
        shutil.rmtree(path, ignore_errors=True)


@pytest.fixture(scope="module")
def variables(stack_dir: Path) -> dict[str, str]:
    """What `set -a; . staging.env; set +a` exports."""
    shell = 'set -a; . "$1"; set +a; env -0'
    env = subprocess.run(
        ["sh", "-c", shell, "sh", str(stack_dir / "staging.env")],
        capture_output=True,
        check=True,
        timeout=10,
        env={},
    ).stdout.decode()
    pairs = (item.split("=", 1) for item in env.split("\0") if item.startswith(VARIABLE))
    return dict(pairs)


def references(value: Any) -> list[str]:
    """The ${VAR} names a profile section refers to."""
    if isinstance(value, dict):
        return [name for item in value.values() for name in references(item)]
    if isinstance(value, list):
        return [name for item in value for name in references(item)]
    if isinstance(value, str) and value.startswith("${"):
        return [value[2:-1]]
    return []


def test_up_writes_a_live_profile_and_its_env_file(
    stack_dir: Path, variables: dict[str, str]
) -> None:
    env_file = stack_dir / "staging.env"
    assert env_file.stat().st_mode & 0o777 == 0o600
    assert variables[f"{VARIABLE}DIR"] == str(stack_dir)
    text = (stack_dir / "staging.yaml").read_text()
    profile = yaml.safe_load(text)
    assert (profile["kind"], profile["destructive"]) == ("live", True)
    endpoints = profile["live"]["endpoints"]
    assert (endpoints["primary_zone"], endpoints["storage"]["dr_region"]) == (
        "az-a",
        "ap-northeast-1",
    )
    named = references(endpoints)
    assert set(named) <= set(variables) and len(named) == len(variables) - 1
    assert endpoints["kubernetes"]["service"] == {"namespace": "prod", "name": "lookup-bff"}
    # the standby region's node beside the primary region's zones, each region's links
    assert set(endpoints["postgres_app"]) == {"az-a", "az-b", "ap-northeast-1"}
    regions = endpoints["regions"]
    assert set(regions) == {"ap-southeast-1", "ap-northeast-1"}
    assert "region-ap-southeast-1" in regions["ap-southeast-1"]["links"]
    assert regions["ap-northeast-1"]["kubernetes"]["context"] == "ap-northeast-1"
    assert endpoints["aws"]["endpoint_url"].startswith("http://127.0.0.1:")
    bindings = profile["live"]["bindings"]
    assert set(bindings) == set(OPERATIONS)
    for name, binding in bindings.items():
        argv = binding["run"]["argv"]
        assert argv[:3] == [sys.executable, "-m", "drillbook.stack"] and Path(argv[0]).is_absolute()
        assert "revert" in binding or OPERATIONS[name].role != "fault"
    for name, value in variables.items():
        if "SECRET" in name or "REDIS" in name or "APP" in name:
            assert value not in text, f"{name}'s value is written in the profile"


def test_the_written_profile_loads_with_its_variables(
    stack_dir: Path, variables: dict[str, str]
) -> None:
    profile = load_profile(stack_dir / "staging.yaml", environ=variables)
    assert profile.kind == "live"
    assert profile.live["endpoints"]["service"] == variables[f"{VARIABLE}SERVICE"]
    assert set(profile.live["bindings"]) == set(OPERATIONS)


def test_status_shows_every_component_alive_and_no_secret(
    stack_dir: Path, variables: dict[str, str]
) -> None:
    done = stack(stack_dir, "status")
    assert done.returncode == 0, done.stderr
    status = json.loads(done.stdout)
    assert status["daemon"]["pid"] == int((stack_dir / "daemon.pid").read_text())
    dead = [name for name, component in status["components"].items() if not component["alive"]]
    assert dead == [] and "postgres az-b" in status["components"]
    redis_password = variables[f"{VARIABLE}REDIS_PRIMARY"].split(":")[2].split("@")[0]
    assert redis_password not in done.stdout


def test_a_second_up_says_the_stack_runs_and_writes_the_profile_asked_for(
    stack_dir: Path,
) -> None:
    pid = (stack_dir / "daemon.pid").read_text()
    profile = stack_dir / "elsewhere" / "drill.yaml"
    done = stack(stack_dir, "up", "--write-profile", str(profile))
    assert done.returncode == 0, done.stderr
    assert "already runs" in done.stdout
    assert f"set -a; . {profile.with_suffix('.env')}; set +a" in done.stdout.splitlines()
    assert profile.is_file() and (stack_dir / "daemon.pid").read_text() == pid


def in_recovery(dsn: str) -> bool:
    with psycopg.connect(dsn, connect_timeout=5) as conn:
        return conn.execute("SELECT pg_is_in_recovery()").fetchone()[0]


def test_failover_to_az_b_then_heal_brings_az_a_back(
    stack_dir: Path, variables: dict[str, str]
) -> None:
    assert isinstance(action(stack_dir, "kill-postgres", "--zone", "az-a")["pid"], int)
    promoted = action(stack_dir, "promote-standby", "--candidate", "az-b")
    assert (promoted["zone"], promoted["in_recovery"]) == ("az-b", False)
    assert "database" in action(stack_dir, "switch-database", "--name", "az-b")
    assert action(stack_dir, "heal-database") == {"primary": "az-a"}
    assert not in_recovery(variables[f"{VARIABLE}POSTGRES_AZ_A"])
    assert in_recovery(variables[f"{VARIABLE}POSTGRES_AZ_B"])


def test_redis_primary_killed_then_healed(stack_dir: Path, variables: dict[str, str]) -> None:
    assert isinstance(action(stack_dir, "kill-redis-primary")["pid"], int)
    action(stack_dir, "heal-redis")
    client = redis.Redis.from_url(variables[f"{VARIABLE}REDIS_PRIMARY"], socket_timeout=2)
    assert client.ping()


def test_pitr_instance_serves_then_is_dropped(stack_dir: Path) -> None:
    target = datetime.now(UTC).isoformat()
    restored = action(stack_dir, "pitr", "--target", target, "--name", "spot")
    dsn = f"postgresql://postgres@{restored['host']}:{restored['port']}/postgres"
    assert not in_recovery(dsn)
    assert action(stack_dir, "drop-restored", "--name", "spot") == {"dropped": "spot"}
    again = stack(stack_dir, "drop-restored", "--name", "spot")
    assert again.returncode == 1 and "no restored instance 'spot'" in again.stderr


def versions(stack_dir: Path) -> list[str]:
    """What each Ready replica reports, found as the live profile finds them: the Service's
    Ready endpoints, through the kubeconfig it names."""
    kubernetes = yaml.safe_load((stack_dir / "staging.yaml").read_text())["live"]["endpoints"][
        "kubernetes"
    ]
    cluster = cluster_from_kubeconfig(kubernetes["kubeconfig"], kubernetes["context"])
    backends = cluster.ready_endpoints("prod", "lookup-bff")
    return [
        json.load(urllib.request.urlopen(f"http://{b}/healthz", timeout=5))["version"]
        for b in backends
    ]


def test_roll_out_releases_and_rolls_back(stack_dir: Path) -> None:
    steps = action(stack_dir, "roll-out", "--version", "v2")
    assert [(s["deployment"], s["version"]) for s in steps] == [
        ("lookup-bff-az-a", "v2"),
        ("lookup-bff-az-b", "v2"),
    ]
    assert versions(stack_dir) == ["v2", "v2"]
    assert len(action(stack_dir, "roll-out", "--version", "v1")) == 2
    assert versions(stack_dir) == ["v1", "v1"]


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["frobnicate"], "invalid choice: 'frobnicate'"),
        (["kill-postgres", "--zone", "az-q"], "no PostgreSQL node 'az-q'"),
        (["pitr", "--target", "yesterday", "--name", "x"], "'yesterday' is not an ISO 8601 time"),
    ],
)
def test_an_unknown_action_or_a_bad_argument_fails_clearly(
    stack_dir: Path, args: list[str], message: str
) -> None:
    done = stack(stack_dir, *args)
    assert (done.returncode, done.stdout) == (1, "")
    assert message in done.stderr


def test_down_leaves_no_process_and_is_idempotent(stack_dir: Path) -> None:
    run_dir = stack_dir / RUN_FOLDER
    daemon = int((stack_dir / "daemon.pid").read_text())
    assert processes_of(run_dir)
    first = stack(stack_dir, "down")
    assert first.returncode == 0, first.stderr
    assert processes_of(run_dir) == {} and not pid_alive(daemon) and not run_dir.exists()
    assert not any((stack_dir / name).exists() for name in ("daemon.pid", "control.sock"))
    again = stack(stack_dir, "down")
    assert again.returncode == 0 and "no stack runs" in again.stdout
    assert stack(stack_dir, "status").returncode == 1
