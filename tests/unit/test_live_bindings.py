"""Live bindings: parsed strictly with the profile, described, preflighted, executed for real
(commands, a local HTTP server, moto for AWS) and reverted by a later run after a SIGKILL."""

from __future__ import annotations

import contextlib
import json
import os
import signal
import subprocess
import sys
import textwrap
import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import boto3
import pytest
from moto import mock_aws

from drillbook.capabilities.operation import FAULT, REMEDIATION
from drillbook.environments.live.bindings import (
    RECOVER_OP,
    BindingError,
    Bindings,
    MissingBinding,
    placeholders,
    render,
)
from drillbook.environments.live.operations import (
    BUILT_IN,
    BUILT_IN_FAULTS,
    OPERATIONS,
    fault_names,
)
from drillbook.environments.live.service import LiveService
from drillbook.faults.recover import recover_journal, run_recover
from drillbook.profile import Profile, ProfileError, load_profile

DSN = "postgresql://drill:s3cret@127.0.0.1:1/glancy"  # nothing listens on port 1
ENVIRON = {"PG_A": DSN, "PG_B": DSN, "KUBECONFIG_PATH": "kube/config"}
HEAD = """\
name: live-test
kind: live
destructive: false
runbook_url: https://wiki.example.com/dr
workload: {probe_timeout_ms: 1000, window_s: 1.0, window_requests: 20}
timeouts: {ready_s: 5}
live:
  endpoints:
    service: SERVICE
    postgres: {az-a: "${PG_A}", az-b: "${PG_B}"}
    primary_zone: az-a
    toxiproxy: http://127.0.0.1:1
    kubernetes: {kubeconfig: "${KUBECONFIG_PATH}", context: staging}
    aws: {region: us-east-1}
  bindings:
"""


def write_profile(
    tmp_path: Path, bindings: str, service: str = "http://127.0.0.1:1", head: str = HEAD
) -> Path:
    path = tmp_path / "live.yaml"
    body = textwrap.indent(textwrap.dedent(bindings), "    ")
    path.write_text(head.replace("SERVICE", service) + body, encoding="utf-8")
    return path


def load(tmp_path: Path, bindings: str, **kwargs: str) -> Profile:
    return load_profile(write_profile(tmp_path, bindings, **kwargs), ENVIRON)


def refused(tmp_path: Path, bindings: str, **kwargs: str) -> str:
    with pytest.raises(ProfileError) as err:
        load(tmp_path, bindings, **kwargs)
    assert str(tmp_path / "live.yaml") in str(err.value)
    return str(err.value)


def script(tmp_path: Path, name: str, body: str, mode: int = 0o755) -> Path:
    path = tmp_path / name
    path.write_text("#!/bin/sh\n" + textwrap.dedent(body), encoding="utf-8")
    path.chmod(mode)
    return path


# --- the table ---


def test_the_table_has_the_sixteen_operations_and_faults_need_a_revert():
    assert len(OPERATIONS) == 16
    assert all(s.revert_required == (s.role == FAULT) for s in OPERATIONS.values())
    assert OPERATIONS["database.restore_to"].params == ("target", "name")
    assert set(BUILT_IN_FAULTS) < set(fault_names())
    assert set(BUILT_IN_FAULTS) < set(BUILT_IN) and not set(BUILT_IN) & set(OPERATIONS)
    assert "database.promote" not in fault_names()


# --- templating ---


def test_templating_keeps_a_lone_placeholder_s_type_and_unknown_ones_as_written():
    assert placeholders("--zone={zone} ${VAR} {not a param}") == ["zone"]
    params = {"zone": "az-b", "timeout_s": 30.0}
    assert render({"a": ["{zone}", "x-{zone}"], "t": "{timeout_s}"}, params) == {
        "a": ["az-b", "x-az-b"],
        "t": 30.0,
    }
    assert render("{name} in {zone}", params) == "{name} in az-b"


# --- parsing ---


def test_a_parsed_binding_keeps_its_role_defaults_and_data(tmp_path):
    profile = load(
        tmp_path,
        """
        database.kill_primary:
          run: {kind: command, argv: [./kill.sh, "--zone={zone}"], output: json}
          revert: {kind: command, argv: [./heal.sh]}
        database.promote:
          run: {kind: sql, dsn: "{zone}", statement: "SELECT pg_promote(true, 60)"}
        """,
    )
    kill = profile.live["bindings"]["database.kill_primary"]
    assert kill.spec.role == FAULT
    assert kill.run.as_data() == {
        "kind": "command",
        "argv": ["./kill.sh", "--zone={zone}"],
        "timeout_s": 60.0,
        "output": "json",
    }
    promote = profile.live["bindings"]["database.promote"]
    assert promote.revert is None
    assert promote.run.as_data()["timeout_s"] == 10.0


@pytest.mark.parametrize(
    ("bindings", "key", "problem"),
    [
        (
            "database.kill_primary:\n  run: {kind: command, argv: [./k.sh]}\n",
            "live.bindings.database.kill_primary.revert",
            "missing: database.kill_primary is a fault",
        ),
        (
            "database.kil_primary:\n  run: {kind: command, argv: [./k.sh]}\n",
            "live.bindings.database.kil_primary",
            "unknown operation (bindable: database.kill_primary,",
        ),
        (
            "cache.promote_replica:\n  run: {kind: shell, argv: [./k.sh]}\n",
            "live.bindings.cache.promote_replica.run.kind",
            "unknown kind 'shell' (kinds: command, http, sql, toxiproxy, kubernetes, aws)",
        ),
        (
            "cache.promote_replica:\n  run: {argv: [./k.sh]}\n",
            "live.bindings.cache.promote_replica.run.kind",
            "missing",
        ),
        (
            "cache.promote_replica:\n  run: {kind: command, argz: [./k.sh]}\n",
            "live.bindings.cache.promote_replica.run.argz",
            "unknown key (allowed here: argv, kind, output, timeout_s)",
        ),
        (
            "cache.promote_replica:\n  run: {kind: command, argv: ./k.sh}\n",
            "live.bindings.cache.promote_replica.run.argv",
            "must be a list",
        ),
        (
            'database.promote:\n  run: {kind: command, argv: [./p.sh, "--to={zone}", "{node}"]}\n',
            "live.bindings.database.promote.run.argv[2]",
            "placeholder {node} is not a param of database.promote (params: {zone})",
        ),
        (
            "cache.promote_replica:\n  run: {kind: command, argv: [./k.sh], output: yaml}\n",
            "live.bindings.cache.promote_replica.run.output",
            "must be one of text, json, not 'yaml'",
        ),
        (
            "cache.promote_replica:\n  run: {kind: command, argv: [./k.sh], timeout_s: 0}\n",
            "live.bindings.cache.promote_replica.run.timeout_s",
            "must be positive",
        ),
        (
            "cache.promote_replica:\n  run: {kind: command, argv: []}\n",
            "live.bindings.cache.promote_replica.run.argv",
            "must name a program to run",
        ),
    ],
)
def test_a_wrong_binding_is_refused_naming_file_and_dotted_key(tmp_path, bindings, key, problem):
    message = refused(tmp_path, bindings)
    assert f"key '{key}': {problem}" in message


def test_a_remediation_may_go_without_revert(tmp_path):
    profile = load(tmp_path, "cache.promote_replica:\n  run: {kind: command, argv: [./p.sh]}\n")
    assert profile.live["bindings"]["cache.promote_replica"].spec.role == REMEDIATION


def test_variables_in_bindings_are_resolved_and_secrets_refused(tmp_path):
    bindings = 'service.point_cache:\n  run: {kind: command, argv: [./p.sh, "${PG_A}"]}\n'
    assert load(tmp_path, bindings).live["bindings"]["service.point_cache"].run.argv[1] == DSN
    message = refused(
        tmp_path,
        """
        cache.promote_replica:
          run:
            kind: aws
            service: rds
            operation: modify_db_instance
            params: {DBInstanceIdentifier: glancy, MasterUserPassword: hunter2}
        """,
    )
    assert (
        "'live.bindings.cache.promote_replica.run.params.MasterUserPassword': holds a secret"
        in (message)
    )
    message = refused(
        tmp_path,
        "cache.promote_replica:\n"
        "  run: {kind: http, method: POST, url: 'https://ops:pw@ops.example.com/x'}\n",
    )
    assert "'live.bindings.cache.promote_replica.run.url': holds a secret" in message


# --- command ---


def test_a_command_runs_in_the_profile_folder_with_its_params_and_prints_json(tmp_path):
    script(tmp_path, "kill.sh", 'printf \'{"pid": 42, "zone": "%s", "cwd": "%s"}\' "$1" "$PWD"\n')
    script(tmp_path, "heal.sh", "echo healed $1\n")
    profile = load(
        tmp_path,
        """
        database.kill_primary:
          run: {kind: command, argv: [./kill.sh, "{zone}"], output: json, timeout_s: 5}
          revert: {kind: command, argv: [./heal.sh, "{zone}"]}
        """,
    )
    bindings = Bindings.of(profile)
    op = bindings.operation("database.kill_primary", "kill -9", "postgres az-a", {"zone": "az-a"})
    assert (op.role, op.kind, op.target) == (FAULT, "kill -9", "postgres az-a")
    assert op.run() == {"pid": 42, "zone": "az-a", "cwd": str(tmp_path.resolve())}
    assert op.revert is not None
    op.revert()
    logged = bindings.context.commands.since(0)
    assert [r.command for r in logged] == [
        "[live.bindings.database.kill_primary.run] ./kill.sh az-a",
        "[live.bindings.database.kill_primary.revert] ./heal.sh az-a",
    ]
    assert logged[1].output == "healed az-a\n" and all(r.ok for r in logged)
    assert op.recover == {
        "op": RECOVER_OP,
        "profile": str((tmp_path / "live.yaml").resolve()),
        "binding": "database.kill_primary",
        "params": {"zone": "az-a"},
    }
    assert DSN not in json.dumps(op.recover)


def test_a_failing_command_names_the_binding_and_shows_the_end_of_its_stderr(tmp_path):
    script(tmp_path, "wipe.sh", "echo starting\necho 'FLUSHALL refused: NOAUTH' >&2\nexit 3\n")
    profile = load(
        tmp_path,
        """
        cache.wipe_primary:
          run: {kind: command, argv: [./wipe.sh]}
          revert: {kind: command, argv: [./wipe.sh]}
        """,
    )
    bindings = Bindings.of(profile)
    with pytest.raises(BindingError) as err:
        bindings.operation("cache.wipe_primary", "wipe", "redis primary", {}).run()
    assert str(err.value) == (
        "live.bindings.cache.wipe_primary.run (command: ./wipe.sh): exit status 3; "
        "stderr ends with:\nFLUSHALL refused: NOAUTH"
    )
    [record] = bindings.context.commands.since(0)
    assert not record.ok and "NOAUTH" in record.output and "starting" in record.output


def test_a_secret_passed_to_a_command_is_masked_in_its_error_log_and_description(
    tmp_path, monkeypatch
):
    secret = "pa{ss}w}rd-42"  # braces too: a secret is never read as a placeholder
    monkeypatch.setenv("RUNBOOK_TOKEN", secret)
    script(tmp_path, "wipe.sh", 'echo "token $1 refused" >&2\nexit 3\n')
    path = write_profile(
        tmp_path,
        """
        cache.wipe_primary:
          run: {kind: command, argv: [./wipe.sh, "${RUNBOOK_TOKEN}"]}
          revert: {kind: command, argv: [./wipe.sh, "${RUNBOOK_TOKEN}"]}
        """,
    )
    bindings = Bindings.of(load_profile(path, ENVIRON | {"RUNBOOK_TOKEN": secret}))
    with pytest.raises(BindingError) as err:
        bindings.operation("cache.wipe_primary", "wipe", "redis primary", {}).run()
    [record] = bindings.context.commands.since(0)
    shown = [
        str(err.value),
        record.command,
        record.output,
        bindings.describe("cache.wipe_primary", {}),
    ]
    assert all("${RUNBOOK_TOKEN}" in text and secret not in text for text in shown), shown


def test_a_command_that_prints_no_json_is_an_error(tmp_path):
    script(tmp_path, "restart.sh", "echo ready\n")
    profile = load(
        tmp_path,
        "cache.restart_primary:\n  run: {kind: command, argv: [./restart.sh], output: json}\n",
    )
    op = Bindings.of(profile).operation("cache.restart_primary", "restart", "redis primary", {})
    with pytest.raises(BindingError, match=r"restart_primary.run .*output is not JSON"):
        op.run()


def test_an_interrupted_command_is_killed_before_its_revert_can_run(tmp_path):
    """A Ctrl-C (or a stop condition) during a fault's command: the command must not finish
    the fault after the revert that follows has run."""
    script(tmp_path, "kill.sh", "touch started\nsleep 2\ntouch finished\n")
    profile = load(
        tmp_path,
        "cache.kill_primary:\n  run: {kind: command, argv: [./kill.sh]}\n"
        "  revert: {kind: command, argv: [./kill.sh]}\n",
    )
    op = Bindings.of(profile).operation("cache.kill_primary", "kill", "redis primary", {})
    main = threading.main_thread().ident

    def interrupt_once_running() -> None:
        # while the command runs: a Ctrl-C inside Popen itself is a known gap, not this test's
        deadline = time.monotonic() + 10
        while not (tmp_path / "started").exists() and time.monotonic() < deadline:
            time.sleep(0.01)
        time.sleep(0.3)
        signal.pthread_kill(main, signal.SIGINT)

    # Python's own Ctrl-C handler, whatever an earlier test of the session left installed
    previous = signal.signal(signal.SIGINT, signal.default_int_handler)
    try:
        threading.Thread(target=interrupt_once_running, daemon=True).start()
        with pytest.raises(KeyboardInterrupt):
            op.run()
    finally:
        signal.signal(signal.SIGINT, previous)
    time.sleep(2.5)
    assert not (tmp_path / "finished").exists()


def test_a_command_past_its_timeout_is_killed_with_what_it_started(tmp_path):
    # The background sleep keeps stdout open: killing only the script would leave us waiting.
    script(tmp_path, "hang.sh", "sleep 60 &\necho $! > child.pid\necho stuck >&2\nsleep 60\n")
    profile = load(
        tmp_path,
        "cache.promote_replica:\n  run: {kind: command, argv: [./hang.sh], timeout_s: 0.5}\n",
    )
    op = Bindings.of(profile).operation("cache.promote_replica", "promote", "redis replica", {})
    started = time.monotonic()
    with pytest.raises(BindingError, match=r"killed after its timeout of 0.5 s; .*\nstuck"):
        op.run()
    assert time.monotonic() - started < 5
    child = int((tmp_path / "child.pid").read_text())
    deadline = time.monotonic() + 5
    while _alive(child) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert not _alive(child)


def _alive(pid: int) -> bool:
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except FileNotFoundError:
        return False
    return stat.rsplit(")", 1)[1].split()[0] != "Z"


def test_preflight_finds_a_program_that_is_missing_or_not_executable(tmp_path):
    script(tmp_path, "ok.sh", "true\n")
    script(tmp_path, "text.sh", "true\n", mode=0o644)
    profile = load(
        tmp_path,
        """
        database.kill_primary:
          run: {kind: command, argv: [./text.sh]}
          revert: {kind: command, argv: [./ok.sh]}
        cache.promote_replica:
          run: {kind: command, argv: [./runbooks/gone.sh]}
          revert: {kind: command, argv: [sh, -c, "true"]}
        """,
    )
    findings = {f.what: f for f in Bindings.of(profile).preflight()}
    folder = tmp_path.resolve()
    text = findings["live.bindings.database.kill_primary.run: ./text.sh"]
    assert not text.ok and text.detail == f"{folder}/text.sh is not executable (chmod +x)"
    assert findings["live.bindings.database.kill_primary.revert: ./ok.sh"].ok
    gone = findings["live.bindings.cache.promote_replica.run: ./runbooks/gone.sh"]
    assert not gone.ok and gone.detail == f"{folder}/runbooks/gone.sh does not exist"
    assert findings["live.bindings.cache.promote_replica.revert: sh"].ok


# --- http ---


class Recorder(BaseHTTPRequestHandler):
    seen: list[tuple[str, str, dict]] = []

    def do_POST(self) -> None:  # noqa: N802 (the http.server API)
        body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
        Recorder.seen.append(("POST", self.path, body))
        if self.path == "/slow":
            time.sleep(1)
        status = 503 if self.path == "/broken" else 200
        answer = json.dumps({"database": body.get("target")}).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(answer)))
        self.end_headers()
        with contextlib.suppress(BrokenPipeError, ConnectionResetError):  # a client timed out
            self.wfile.write(answer)

    def do_DELETE(self) -> None:  # noqa: N802 (the http.server API)
        Recorder.seen.append(("DELETE", self.path, {}))
        answer = b"{}"
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(answer)))
        self.end_headers()
        self.wfile.write(answer)

    def log_message(self, *args: object) -> None:
        pass


@pytest.fixture
def service() -> Iterator[str]:
    Recorder.seen = []
    server = ThreadingHTTPServer(("127.0.0.1", 0), Recorder)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()
    server.server_close()
    thread.join(timeout=5)


HTTP_BINDINGS = """
service.point_database:
  run: {kind: http, method: POST, url: /admin/database, body: {target: "{name}"}}
  revert: {kind: http, method: POST, url: "SERVICE/broken", body: {target: az-a}, timeout_s: 2}
service.point_cache:
  run: {kind: http, method: POST, url: /slow, body: {node: "{node}"}, timeout_s: 0.2}
"""


def test_an_http_binding_calls_the_service_and_returns_its_json(tmp_path, service):
    profile = load(tmp_path, HTTP_BINDINGS.replace("SERVICE", service), service=service)
    bindings = Bindings.of(profile)
    op = bindings.operation("service.point_database", "point", "service", {"name": "az-b"})
    assert op.run() == {"database": "az-b"}
    assert Recorder.seen == [("POST", "/admin/database", {"target": "az-b"})]
    assert bindings.describe("service.point_database", {"name": "az-b"}) == (
        'service.point_database: http: POST /admin/database {"target": "az-b"}; '
        f'revert: http: POST {service}/broken {{"target": "az-a"}}'
    )
    with pytest.raises(BindingError, match=r"point_database.revert .*answered 503, not 2xx"):
        op.revert()
    slow = bindings.operation("service.point_cache", "point", "service", {"node": "replica"})
    with pytest.raises(BindingError, match=r"point_cache.run .*ReadTimeout"):
        slow.run()
    assert all(f.ok for f in bindings.preflight())


# --- sql ---


def test_sql_is_templated_by_zone_described_and_fails_naming_the_binding(tmp_path):
    profile = load(
        tmp_path,
        """
        database.promote:
          run: {kind: sql, dsn: "{zone}", statement: "SELECT pg_promote(true, 60)", timeout_s: 2}
          revert: {kind: sql, dsn: az-a, statement: "SELECT '{zone}' AS demoted"}
        """,
    )
    bindings = Bindings.of(profile)
    assert bindings.describe("database.promote", {"zone": "az-b"}) == (
        "database.promote: sql on az-b: SELECT pg_promote(true, 60); "
        "revert: sql on az-a: SELECT 'az-b' AS demoted"
    )
    op = bindings.operation("database.promote", "promote", "postgres az-b", {"zone": "az-b"})
    with pytest.raises(BindingError, match=r"database.promote.run \(sql on az-b: .*\): Operat"):
        op.run()
    with pytest.raises(BindingError, match=r"no zone 'az-c' in live.endpoints.postgres"):
        bindings.operation("database.promote", "promote", "x", {"zone": "az-c"}).run()
    findings = bindings.preflight()
    assert [f.what for f in findings] == [
        "live.bindings.database.promote.run: zone az-a",
        "live.bindings.database.promote.run: zone az-b",
        "live.bindings.database.promote.revert: zone az-a",
    ]
    assert not any(f.ok for f in findings)
    assert findings[0].detail.startswith("does not connect: ")


@pytest.mark.parametrize(
    ("dsn", "problem"),
    [
        ("az-c", "names 'az-c', not a zone of live.endpoints.postgres (az-a, az-b)"),
        ("{name}", "placeholder {name} is not a param of database.promote"),
    ],
)
def test_sql_on_an_unknown_zone_is_refused(tmp_path, dsn, problem):
    message = refused(
        tmp_path,
        f'database.promote:\n  run: {{kind: sql, dsn: "{dsn}", statement: "SELECT 1"}}\n',
    )
    assert f"'live.bindings.database.promote.run.dsn': {problem}" in message


# --- toxiproxy ---


def test_toxiproxy_actions_are_checked_and_described(tmp_path):
    profile = load(
        tmp_path,
        """
        cache.kill_primary:
          run:
            kind: toxiproxy
            proxy: redis-primary
            action: toxic
            toxic: {type: latency, attributes: {latency: 5000}}
          revert: {kind: toxiproxy, proxy: redis-primary, action: reset}
        """,
    )
    assert Bindings.of(profile).describe("cache.kill_primary", {}) == (
        'cache.kill_primary: toxiproxy: toxic latency {"latency": 5000} on proxy redis-primary; '
        "revert: toxiproxy: reset proxy redis-primary"
    )
    [finding, _] = Bindings.of(profile).preflight()
    assert finding.what == "live.bindings.cache.kill_primary.run: proxy redis-primary"
    assert not finding.ok and "toxiproxy server unreachable at http://127.0.0.1:1" in finding.detail
    message = refused(
        tmp_path,
        "cache.promote_replica:\n  run: {kind: toxiproxy, proxy: r, action: toxic}\n",
    )
    assert "'live.bindings.cache.promote_replica.run.toxic': missing: action toxic needs one" in (
        message
    )
    message = refused(
        tmp_path, "cache.promote_replica:\n  run: {kind: toxiproxy, proxy: r, action: cut}\n"
    )
    assert "run.action': must be one of disable, enable, toxic, reset, not 'cut'" in message


def test_a_toxiproxy_action_needs_the_toxiproxy_endpoint(tmp_path):
    head = HEAD.replace("    toxiproxy: http://127.0.0.1:1\n", "")
    message = refused(
        tmp_path,
        "cache.promote_replica:\n  run: {kind: toxiproxy, proxy: r, action: disable}\n",
        head=head,
    )
    assert "run.proxy': a toxiproxy action needs live.endpoints.toxiproxy" in message


# --- kubernetes ---


K8S = """
exports.kill_worker_mid_task:
  run:
    kind: kubernetes
    api: CoreV1Api
    method: delete_namespaced_pod
    args: {name: worker-0, namespace: glancy, grace_period_seconds: 0}
  revert:
    kind: kubernetes
    api: AppsV1Api
    method: patch_namespaced_deployment_scale
    args: {name: worker, namespace: glancy, body: {spec: {replicas: 2}}}
"""


def test_kubernetes_bindings_are_described_and_a_missing_kubeconfig_is_reported(tmp_path):
    bindings = Bindings.of(load(tmp_path, K8S))
    assert bindings.describe("exports.kill_worker_mid_task", {"timeout_s": 60.0}) == (
        "exports.kill_worker_mid_task: kubernetes: CoreV1Api.delete_namespaced_pod("
        "name='worker-0', namespace='glancy', grace_period_seconds=0); revert: kubernetes: "
        "AppsV1Api.patch_namespaced_deployment_scale(name='worker', namespace='glancy', "
        "body={'spec': {'replicas': 2}})"
    )
    findings = bindings.preflight()
    config = tmp_path.resolve() / "kube" / "config"
    assert [(f.ok, f.detail) for f in findings] == [
        (False, f"{config} does not exist (live.endpoints.kubernetes.kubeconfig)")
    ] * 2
    assert findings[0].what == "live.bindings.exports.kill_worker_mid_task.run: kubeconfig"


def test_a_kubernetes_action_needs_the_kubernetes_endpoint(tmp_path):
    head = HEAD.replace(
        '    kubernetes: {kubeconfig: "${KUBECONFIG_PATH}", context: staging}\n', ""
    )
    message = refused(tmp_path, K8S, head=head)
    assert "run.api': a kubernetes action needs live.endpoints.kubernetes" in message


# --- aws ---


AWS = """
database.kill_primary:
  run: {kind: aws, service: s3, operation: create_bucket, params: {Bucket: "drill-{zone}"}}
  revert: {kind: aws, service: s3, operation: delete_bucket, params: {Bucket: "drill-{zone}"}}
cache.promote_replica:
  run: {kind: aws, service: s3, operation: teleport_bucket, region: us-east-1}
"""


@pytest.fixture
def aws_credentials(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY"):
        monkeypatch.setenv(name, "testing")
    monkeypatch.delenv("AWS_PROFILE", raising=False)


@mock_aws
def test_an_aws_binding_calls_the_api_and_its_revert_undoes_it(tmp_path, aws_credentials):
    bindings = Bindings.of(load(tmp_path, AWS))
    op = bindings.operation("database.kill_primary", "bucket", "s3", {"zone": "az-a"})
    assert op.run()["Location"] == "/drill-az-a"
    s3 = boto3.client("s3", region_name="us-east-1")
    assert [b["Name"] for b in s3.list_buckets()["Buckets"]] == ["drill-az-a"]
    assert op.revert is not None
    op.revert()
    assert s3.list_buckets()["Buckets"] == []
    with pytest.raises(
        BindingError, match=r"kill_primary.revert .*: NoSuchBucket: .*does not exist"
    ):
        op.revert()
    teleport = bindings.operation("cache.promote_replica", "promote", "s3", {})
    with pytest.raises(BindingError, match=r"boto3 s3 has no teleport_bucket"):
        teleport.run()
    assert bindings.describe("cache.promote_replica", {}) == (
        "cache.promote_replica: aws: s3.teleport_bucket() in us-east-1; revert: none"
    )
    findings = {f.what.rsplit(": ", 1)[1]: f for f in bindings.preflight()}
    assert findings["s3.create_bucket"].ok
    assert findings["s3.teleport_bucket"].detail == "boto3 s3 has no teleport_bucket"


# --- Bindings ---


def test_a_missing_binding_names_the_operation_the_profile_and_what_is_bound(tmp_path):
    profile = load(tmp_path, "cache.promote_replica:\n  run: {kind: command, argv: [./p.sh]}\n")
    bindings = Bindings.of(profile)
    assert bindings.has("cache.promote_replica") and not bindings.has("cache.kill_primary")
    with pytest.raises(MissingBinding) as err:
        bindings.operation("cache.kill_primary", "kill -9", "redis primary", {})
    assert str(err.value) == (
        f"{profile.path}: no binding for the operation cache.kill_primary under live.bindings "
        "(bound: cache.promote_replica)"
    )
    [finding] = bindings.preflight(["cache.kill_primary"])
    assert (finding.what, finding.ok, finding.detail) == (
        "live.bindings.cache.kill_primary",
        False,
        "not bound",
    )
    with pytest.raises(ValueError, match=r"takes the params \[\], not \['zone'\]"):
        bindings.operation("cache.promote_replica", "promote", "redis", {"zone": "az-a"})


# --- recovery after SIGKILL ---


RECOVERABLE = """
database.kill_primary:
  run: {kind: command, argv: [./kill.sh, "{zone}"]}
  revert: {kind: command, argv: [./heal.sh, "{zone}"]}
"""
KILLED_RUN = """
import sys, time
from pathlib import Path
from drillbook.environments.live.bindings import Bindings
from drillbook.faults.journal import FaultJournal
from drillbook.profile import load_profile

bindings = Bindings.of(load_profile(Path(sys.argv[1])))
op = bindings.operation("database.kill_primary", "kill -9", "postgres az-a", {"zone": "az-a"})
FaultJournal(Path(sys.argv[2]), progress=print).inject(
    op.kind, op.target, op.run, op.revert, recover=op.recover
)
print("injected", flush=True)
time.sleep(60)
"""


def test_a_run_killed_with_its_fault_injected_is_reverted_by_the_next(tmp_path, monkeypatch):
    script(tmp_path, "kill.sh", "echo killed $1 > killed\n")
    script(tmp_path, "heal.sh", "echo healed $1 > healed\n")
    profile = write_profile(tmp_path, RECOVERABLE)
    journal = tmp_path / "journal.jsonl"
    env = {**os.environ, **ENVIRON}
    run = subprocess.Popen(
        [sys.executable, "-c", KILLED_RUN, str(profile), str(journal)],
        stdout=subprocess.PIPE,
        text=True,
        env=env,
    )
    try:
        assert run.stdout is not None
        assert run.stdout.readline().strip().endswith("injected")
    finally:
        run.send_signal(signal.SIGKILL)
        run.wait(timeout=10)
        run.stdout.close()
    assert (tmp_path / "killed").read_text() == "killed az-a\n"
    assert DSN not in journal.read_text()  # the journal names the binding, not its secrets
    monkeypatch.setattr(os, "environ", env)
    said: list[str] = []
    assert recover_journal(journal, said.append) == []
    assert (tmp_path / "healed").read_text() == "healed az-a\n"
    assert "reverted #1 kill -9 on postgres az-a: database.kill_primary reverted by " in said[1]


def test_the_recover_op_refuses_a_binding_the_profile_no_longer_has(tmp_path, monkeypatch):
    profile = write_profile(tmp_path, "cache.promote_replica:\n  run: {kind: command, argv: [x]}\n")
    monkeypatch.setattr(os, "environ", {**os.environ, **ENVIRON})
    recover = {"op": RECOVER_OP, "profile": str(profile), "binding": "cache.kill_primary"}
    with pytest.raises(MissingBinding, match=r"no binding for the operation cache.kill_primary"):
        run_recover({**recover, "params": {}})


def test_a_killed_run_s_llm_spend_on_staging_is_taken_back_by_the_next(tmp_path, service):
    """The July drill's spend is a built-in fault: its recover op names the profile, and a
    later run refunds it through the service's admin API."""
    profile = load(tmp_path, "{}", service=service)
    spend = LiveService(service, [service], None, Bindings.of(profile)).spend_tokens(1000)
    assert spend.recover == {
        "op": "live-built-in",
        "profile": str((tmp_path / "live.yaml").resolve()),
        "operation": "service.spend_tokens",
    }
    with pytest.MonkeyPatch.context() as env:
        for name, value in ENVIRON.items():
            env.setenv(name, value)
        done = run_recover(spend.recover)
    assert done == "the drill's LLM spend taken back"
    assert Recorder.seen == [("DELETE", "/admin/budget/spend", {})]
