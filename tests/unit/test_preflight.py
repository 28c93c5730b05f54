"""Preflight and dry run of a live profile: what they check and list, and that neither acts.

Each test runs pytest in a subprocess on a feature and a live profile written to tmp_path, whose
endpoints are local ports where nothing answers (or a tiny HTTP server started here), and whose
bindings are scripts in tmp_path that leave a marker file if they ever run.
"""

import json
import os
import re
import socket
import subprocess
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest
import yaml

from tests.drills import ROOT, pytest_argv

RUN_TIMEOUT_S = 120
# A preflight waits at most 5 s on one endpoint (LiveContext.PREFLIGHT_TIMEOUT_S); here one
# endpoint is silent and the others refuse at once, so the session ends well within this.
PREFLIGHT_BUDGET_S = 20

KILL_STEP = "When the PostgreSQL primary in az-a is killed with SIGKILL"
PROMOTE_STEP = "And the standby in az-b is promoted"
CUT_STEP = 'When the network to "llm" is cut'


def run_pytest(
    feature_path: Path, reports: Path, *args: str, env: dict[str, str]
) -> subprocess.CompletedProcess:
    return subprocess.run(
        pytest_argv(feature_path, reports, *args),
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=RUN_TIMEOUT_S,
        env=env,
    )


def feature(tmp_path: Path, *steps: str) -> Path:
    """A feature of one scenario with no Background, made of `steps`."""
    path = tmp_path / "drill.feature"
    body = "".join(f"    {step}\n" for step in steps)
    path.write_text(f"Feature: rehearsal\n  Scenario: primary lost\n{body}", encoding="utf-8")
    return path


def closed_port() -> int:
    """A local port nothing listens on: bound, then closed."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.fixture
def silent_port() -> Iterator[int]:
    """A local port that accepts connections and never answers."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        sock.listen(16)
        yield sock.getsockname()[1]


class Healthz(BaseHTTPRequestHandler):
    seen: list[str] = []

    def do_GET(self) -> None:  # noqa: N802 - the name http.server calls
        self.seen.append(self.path)
        if self.path != "/healthz":
            self.send_error(404)
            return
        body = json.dumps({"status": "ok", "version": "v1"}).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def do_POST(self) -> None:  # noqa: N802
        self.seen.append(f"POST {self.path}")
        self.send_error(500)

    def log_message(self, format: str, *args: object) -> None:  # noqa: A002
        """Quiet."""


@pytest.fixture
def healthz_server() -> Iterator[tuple[str, list[str]]]:
    """A service answering GET /healthz with ok; its URL and the requests it saw."""
    seen: list[str] = []
    handler = type("Handler", (Healthz,), {"seen": seen})
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}", seen
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=5)


def script(path: Path, executable: bool = True) -> Path:
    """A runbook that, if it ever ran, would leave `<name>.ran` next to itself."""
    path.parent.mkdir(parents=True, exist_ok=True)
    marker = path.with_suffix(".ran")
    path.write_text(f'#!/bin/sh\necho "$@" > "{marker}"\necho {{}}\n', encoding="utf-8")
    path.chmod(0o755 if executable else 0o644)
    return marker


def bindings() -> dict:
    return {
        "database.kill_primary": {
            "run": {
                "kind": "command",
                "argv": ["./runbooks/kill-postgres.sh", "--zone", "{zone}"],
                "timeout_s": 10,
                "output": "json",
            },
            "revert": {
                "kind": "command",
                "argv": ["./runbooks/rebuild-standby.sh", "--failed-zone", "{zone}"],
                "timeout_s": 10,
            },
        },
        "database.promote": {
            "run": {
                "kind": "command",
                "argv": ["./runbooks/promote.sh", "--zone", "{zone}"],
                "timeout_s": 10,
            },
        },
    }


def live_profile(tmp_path: Path, binds: dict, allow_faults: list[str] | None = None) -> Path:
    """A live profile laid out as environments/staging.yaml, endpoints as ${VAR}s."""
    data: dict = {
        "name": "rehearsal-staging",
        "kind": "live",
        "description": "a staging nobody runs",
        "destructive": False,
        "runbook_url": "https://wiki.example.com/glancy/dr-plan",
        "workload": {"probe_timeout_ms": 1000, "window_s": 1.0, "window_requests": 20},
        "timeouts": {"ready_s": 5},
        "live": {
            "endpoints": {
                "service": "${DRILLBOOK_TEST_SERVICE_URL}",
                "postgres": {
                    "az-a": "${DRILLBOOK_TEST_PG_AZ_A_DSN}",
                    "az-b": "${DRILLBOOK_TEST_PG_AZ_B_DSN}",
                },
                "primary_zone": "az-a",
                "toxiproxy": "${DRILLBOOK_TEST_TOXIPROXY_URL}",
                "links": {"llm": "doubao"},
            },
            "bindings": binds,
        },
    }
    if allow_faults is not None:
        data["allow_faults"] = allow_faults
    path = tmp_path / "rehearsal.yaml"
    path.write_text(yaml.safe_dump(data, sort_keys=False), encoding="utf-8")
    return path


def endpoints_env(service_url: str, pg_a: int, pg_b: int, toxiproxy: int) -> dict[str, str]:
    return os.environ | {
        "DRILLBOOK_TEST_SERVICE_URL": service_url,
        "DRILLBOOK_TEST_PG_AZ_A_DSN": f"postgresql://drill@127.0.0.1:{pg_a}/glancy",
        "DRILLBOOK_TEST_PG_AZ_B_DSN": f"postgresql://drill@127.0.0.1:{pg_b}/glancy",
        "DRILLBOOK_TEST_TOXIPROXY_URL": f"http://127.0.0.1:{toxiproxy}",
    }


def unreachable_env() -> dict[str, str]:
    port = closed_port()
    return endpoints_env(f"http://127.0.0.1:{port}", port, port, port)


def session_seconds(out: str) -> float:
    """How long the pytest session took, from its summary line (imports excluded)."""
    found = re.findall(r" in (\d+(?:\.\d+)?)s", out)
    assert found, out[-4000:]
    return float(found[-1])


def table_line(out: str, what: str) -> str:
    """The line of the preflight table about `what`; fails showing the output if none is."""
    lines = [
        line
        for line in out.splitlines()
        if what in line and line.lstrip().startswith(("ok ", "MISSING "))
    ]
    assert len(lines) == 1, f"no single table line about {what!r} in:\n{out[-4000:]}"
    return lines[0]


def assert_missing(out: str, what: str, *details: str) -> None:
    line = table_line(out, what)
    assert line.split()[0] == "MISSING", line
    for detail in details:
        assert detail in line, line


def assert_nothing_drilled(out: str, reports: Path, *markers: Path) -> None:
    assert "reverting fault" not in out
    assert not (reports / "ledger").exists()
    assert not (reports / "last-run.jsonl").exists()
    journal = reports / "fault-journal.jsonl"
    assert not journal.exists() or not journal.read_text(encoding="utf-8").strip()
    for marker in markers:
        assert not marker.exists(), f"{marker.name}: a binding ran"


def test_preflight_names_each_unreachable_endpoint_missing_and_fails_without_hanging(
    tmp_path, silent_port
):
    kill_ran = script(tmp_path / "runbooks" / "kill-postgres.sh")
    script(tmp_path / "runbooks" / "rebuild-standby.sh")
    script(tmp_path / "runbooks" / "promote.sh")
    profile = live_profile(tmp_path, bindings())
    path = feature(tmp_path, "Given the reference service is up", KILL_STEP, CUT_STEP)
    closed = closed_port()
    # The service accepts connections and never answers; the database and Toxiproxy refuse.
    env = endpoints_env(f"http://127.0.0.1:{silent_port}", closed, closed, closed)
    reports = tmp_path / "reports"

    result = run_pytest(path, reports, "--dr-env", str(profile), "--dr-preflight", env=env)

    out = result.stdout
    assert result.returncode != 0, out[-4000:]
    took = session_seconds(out)
    assert 4 < took < PREFLIGHT_BUDGET_S, f"preflight took {took:.1f} s"
    assert f"preflight of {profile}" in out
    assert_missing(out, f"service http://127.0.0.1:{silent_port}")
    assert_missing(out, "postgres az-a (live.endpoints.postgres)", f"port {closed} failed")
    assert_missing(out, "postgres az-b (live.endpoints.postgres)")
    assert_missing(out, f"toxiproxy http://127.0.0.1:{closed}")
    # What is there is ok: the runbooks of the binding and the built-in cut.
    assert table_line(out, "database.kill_primary.run: ./runbooks/kill-postgres.sh").split()[0] == (
        "ok"
    )
    assert table_line(out, "operation network.cut").split()[0] == "ok"
    assert "preflight failed:" in out
    assert "starting the" not in out
    assert_nothing_drilled(out, reports, kill_ran)


def test_preflight_names_a_command_not_executable_and_one_that_does_not_exist(tmp_path):
    kill_ran = script(tmp_path / "runbooks" / "kill-postgres.sh", executable=False)
    binds = bindings()
    binds["database.kill_primary"]["revert"]["argv"][0] = "./runbooks/no-such-runbook.sh"
    binds["database.promote"]["run"]["argv"][0] = "drillbook-no-such-tool"
    profile = live_profile(tmp_path, binds)
    path = feature(tmp_path, KILL_STEP, PROMOTE_STEP)
    reports = tmp_path / "reports"

    result = run_pytest(
        path, reports, "--dr-env", str(profile), "--dr-preflight", env=unreachable_env()
    )

    out = result.stdout
    assert result.returncode != 0, out[-4000:]
    assert_missing(
        out,
        "live.bindings.database.kill_primary.run: ./runbooks/kill-postgres.sh",
        "is not executable (chmod +x)",
    )
    assert_missing(
        out,
        "live.bindings.database.kill_primary.revert: ./runbooks/no-such-runbook.sh",
        "does not exist",
    )
    assert_missing(
        out,
        "live.bindings.database.promote.run: drillbook-no-such-tool",
        "is not found on PATH",
    )
    assert "preflight failed:" in out
    assert_nothing_drilled(out, reports, kill_ran)


def test_an_operation_the_profile_does_not_bind_is_refused_and_missing_in_preflight(tmp_path):
    promote_ran = script(tmp_path / "runbooks" / "promote.sh")
    binds = bindings()
    del binds["database.kill_primary"]
    profile = live_profile(tmp_path, binds)
    path = feature(tmp_path, KILL_STEP, PROMOTE_STEP)
    reports = tmp_path / "reports"

    refused = run_pytest(path, reports, "--dr-env", str(profile), env=unreachable_env())

    out = refused.stdout
    assert refused.returncode != 0, out[-4000:]
    assert f"step at {path}:3 '{KILL_STEP}' cannot run" in out
    assert f"{profile} binds no 'database.kill_primary' (live.bindings)" in out
    assert "(bound: database.promote)" in out
    assert "starting the" not in out
    assert_nothing_drilled(out, reports, promote_ran)

    checked = run_pytest(
        path,
        tmp_path / "reports-preflight",
        "--dr-env",
        str(profile),
        "--dr-preflight",
        env=unreachable_env(),
    )

    out = checked.stdout
    assert checked.returncode != 0, out[-4000:]
    assert_missing(
        out,
        "operation database.kill_primary",
        f"needed at {path}:3",
        "binds no 'database.kill_primary'",
    )
    assert "preflight failed:" in out


def test_a_fault_allow_faults_leaves_out_is_refused_before_anything_runs(tmp_path):
    kill_ran = script(tmp_path / "runbooks" / "kill-postgres.sh")
    script(tmp_path / "runbooks" / "rebuild-standby.sh")
    profile = live_profile(tmp_path, bindings(), allow_faults=["network.cut"])
    # The allowed cut comes first: it must not run either.
    path = feature(tmp_path, CUT_STEP, "And the PostgreSQL primary in az-a is killed with SIGKILL")
    reports = tmp_path / "reports"

    result = run_pytest(path, reports, "--dr-env", str(profile), env=unreachable_env())

    out = result.stdout
    assert result.returncode != 0, out[-4000:]
    assert f"step at {path}:4 'And the PostgreSQL primary in az-a is killed" in out
    assert (
        f"{profile} allows only the faults network.cut (allow_faults), not 'database.kill_primary'"
        in out
    )
    assert "starting the" not in out
    assert_nothing_drilled(out, reports, kill_ran)


def dry_run(path: Path, reports: Path, profile: Path, url: str, closed: int):
    """`--dr-dry-run` of the feature against the service at `url`, everything else closed."""
    env = endpoints_env(url, closed, closed, closed)
    return run_pytest(path, reports, "--dr-env", str(profile), "--dr-dry-run", "-rs", env=env)


def test_dry_run_runs_the_givens_and_lists_the_bindings_without_running_them(
    tmp_path, healthz_server
):
    url, seen = healthz_server
    kill_ran = script(tmp_path / "runbooks" / "kill-postgres.sh")
    rebuild_ran = script(tmp_path / "runbooks" / "rebuild-standby.sh")
    promote_ran = script(tmp_path / "runbooks" / "promote.sh")
    profile = live_profile(tmp_path, bindings())
    path = feature(
        tmp_path,
        "Given the reference service is up",
        KILL_STEP,
        PROMOTE_STEP,
        "Then the probes saw the outage",
    )
    closed = closed_port()
    reports = tmp_path / "reports"

    result = dry_run(path, reports, profile, url, closed)

    out = result.stdout
    assert result.returncode == 0, out[-4000:]
    assert "/healthz" in seen  # the Given ran, against the service
    assert not [request for request in seen if request != "/healthz"]
    assert "dry run of 'primary lost': from line 4" in out
    assert f"{path}:4  {KILL_STEP}" in out
    assert (
        "-> database.kill_primary: command: ./runbooks/kill-postgres.sh --zone az-a; "
        "revert: command: ./runbooks/rebuild-standby.sh --failed-zone az-a"
    ) in out
    assert f"{path}:5  {PROMOTE_STEP}" in out
    assert "-> database.promote: command: ./runbooks/promote.sh --zone az-b; revert: none" in out
    assert f"{path}:6  Then the probes saw the outage  (observes)" in out
    assert "dry run: 2 operations listed from line 4, none run" in out
    assert_nothing_drilled(out, reports, kill_ran, rebuild_ran, promote_ran)


def test_dry_run_stops_at_a_given_that_injects_a_fault(tmp_path, healthz_server):
    """A runbook's trigger is a Given that acts: the dry run lists it instead of running it
    (the profile's Toxiproxy is a closed port: a cut that ran would fail the run)."""
    url, _seen = healthz_server
    kill_ran = script(tmp_path / "runbooks" / "kill-postgres.sh")
    profile = live_profile(tmp_path, bindings())
    trigger = 'Given the network to "llm" is cut'
    path = feature(tmp_path, "Given the reference service is up", trigger, KILL_STEP)
    closed = closed_port()
    reports = tmp_path / "reports"

    result = dry_run(path, reports, profile, url, closed)

    out = result.stdout
    assert result.returncode == 0, out[-4000:]
    assert "dry run of 'primary lost': from line 4" in out
    assert f"{path}:4  {trigger}" in out
    assert "dry run: 2 operations listed from line 4, none run" in out
    assert_nothing_drilled(out, reports, kill_ran)


def test_preflight_and_dry_run_together_are_a_usage_error(tmp_path):
    profile = live_profile(tmp_path, bindings())
    path = feature(tmp_path, KILL_STEP)

    result = run_pytest(
        path,
        tmp_path / "reports",
        "--dr-env",
        str(profile),
        "--dr-preflight",
        "--dr-dry-run",
        env=unreachable_env(),
    )

    assert result.returncode == pytest.ExitCode.USAGE_ERROR, result.stdout[-4000:]
    assert "--dr-preflight and --dr-dry-run are two separate runs: give one" in result.stderr


def test_preflight_names_a_capability_the_profile_does_not_provide(tmp_path):
    profile = live_profile(tmp_path, bindings())
    data = yaml.safe_load(profile.read_text(encoding="utf-8"))
    del data["live"]["endpoints"]["toxiproxy"]
    del data["live"]["endpoints"]["links"]
    profile.write_text(yaml.safe_dump(data, sort_keys=False), encoding="utf-8")
    path = feature(tmp_path, CUT_STEP)

    result = run_pytest(
        path,
        tmp_path / "reports",
        "--dr-env",
        str(profile),
        "--dr-preflight",
        env=unreachable_env(),
    )

    out = result.stdout
    assert result.returncode != 0, out[-4000:]
    assert "KeyError" not in out + result.stderr
    assert f"preflight of {profile}" in out
    assert_missing(out, "network", "does not provide the capability 'network'")
    assert "preflight failed:" in out
