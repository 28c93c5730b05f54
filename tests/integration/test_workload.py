from __future__ import annotations

import shutil
import socket
import subprocess
import tempfile
import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import psycopg
import pytest

from drillbook.checks import lost_writes, rpo, rto
from drillbook.workload import History, HttpProbe, Workload, Writer, surviving_ids

PG_BIN = Path("/usr/lib/postgresql/15/bin")


class SwitchableServer(ThreadingHTTPServer):
    """Answers 200, 500, or sleeps before answering, as the test says."""

    daemon_threads = True
    mode = "ok"
    sleep_s = 0.0

    def handle_error(self, request: object, client_address: object) -> None:
        pass  # a probe that timed out hangs up before the slow answer: expected here


class Handler(BaseHTTPRequestHandler):
    server: SwitchableServer

    def do_GET(self) -> None:  # noqa: N802 (http.server's naming)
        if self.server.mode == "slow":
            time.sleep(self.server.sleep_s)
        status = 500 if self.server.mode == "error" else 200
        body = b'{"error":"database_unavailable"}' if status == 500 else b"{}"
        self.send_response(status)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args: object) -> None:
        pass


@pytest.fixture
def server() -> Iterator[SwitchableServer]:
    httpd = SwitchableServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    yield httpd
    httpd.shutdown()
    httpd.server_close()
    thread.join(timeout=5)


def url(httpd: SwitchableServer) -> str:
    return f"http://127.0.0.1:{httpd.server_address[1]}"


def closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.mark.integration
def test_probe_records_an_outage_and_rto_measures_it(server):
    history = History()
    probe = HttpProbe(history, url(server), "/lookup", interval_s=0.05, timeout_s=0.5)
    with Workload(history) as workload:
        workload.add(probe)
        time.sleep(0.5)
        t0 = time.time()
        server.mode = "error"
        time.sleep(1.5)
        back = time.time()
        server.mode = "ok"
        time.sleep(1.5)
        assert workload.running
    assert not workload.running
    failures = [op for op in history.ops() if op.outcome == "fail"]
    assert failures and all(op.status == 500 for op in failures)
    assert "database_unavailable" in failures[0].error
    result = rto(history, t0, 10, target_ratio=0.95)
    assert result.passed, result.explanation
    assert result.figure == pytest.approx(back - t0, abs=2 * 0.05)


@pytest.mark.integration
def test_probe_keeps_its_rate_on_a_monotonic_schedule(server):
    history = History()
    probe = HttpProbe(history, url(server), "/healthz", interval_s=0.05)
    probe.start()
    time.sleep(1.0)
    probe.stop()
    assert 17 <= len(history) <= 22
    assert {op.process for op in history.ops()} == {"probe:/healthz"}


@pytest.mark.integration
def test_probe_against_a_closed_port_records_fail():
    history = History()
    probe = HttpProbe(history, f"http://127.0.0.1:{closed_port()}", "/lookup", interval_s=0.05)
    probe.start()
    time.sleep(0.3)
    probe.stop()
    assert len(history) >= 3
    assert {op.outcome for op in history.ops()} == {"fail"}
    assert history.ops()[0].error.startswith("ConnectError")


@pytest.mark.integration
def test_probe_against_a_server_slower_than_its_timeout_records_info(server):
    server.mode, server.sleep_s = "slow", 1.0
    history = History()
    probe = HttpProbe(history, url(server), "/lookup", interval_s=0.05, timeout_s=0.2)
    probe.start()
    time.sleep(0.5)
    probe.stop()
    ops = history.ops()
    assert ops and {op.outcome for op in ops} == {"info"}
    assert all(op.latency == pytest.approx(0.2, abs=0.1) for op in ops)


# --- Writer classification, with a fake connection in place of PostgreSQL ---


class FakeConnection:
    """Fails where told to; 'hang' blocks on a socket until the writer's deadline cuts it."""

    def __init__(self, fail_at: str | None) -> None:
        self.fail_at = fail_at
        self.sock, self._peer = socket.socketpair()
        self.closed = False

    def fileno(self) -> int:
        return self.sock.fileno()

    def execute(self, query: object, params: tuple) -> None:
        self._maybe_fail("execute")

    def commit(self) -> None:
        self._maybe_fail("commit")

    def close(self) -> None:
        self.closed = True
        self.sock.close()
        self._peer.close()

    def _maybe_fail(self, phase: str) -> None:
        if self.fail_at == f"{phase}-hang" and self.sock.recv(1) == b"":
            raise psycopg.OperationalError("server closed the connection unexpectedly")
        if self.fail_at == phase:
            raise psycopg.OperationalError(f"connection lost during {phase}")


class ScriptedWriter(Writer):
    """A writer whose n-th connection fails as `script[n]` says ("connect", "execute", ...)."""

    def __init__(self, history: History, script: list[str | None], timeout_s: float = 1.0):
        super().__init__(history, lambda: "unused", interval_s=0.01, timeout_s=timeout_s)
        self.script = list(script)
        self.connections: list[FakeConnection] = []

    def _connect(self) -> FakeConnection:  # type: ignore[override]
        step = self.script.pop(0) if self.script else None
        if step == "connect":
            raise psycopg.OperationalError("connection refused")
        self.connections.append(FakeConnection(step))
        return self.connections[-1]


def run_writer(writer: Writer, history: History, writes: int) -> list:
    writer.start()
    deadline = time.monotonic() + 5
    while len(history) < writes and time.monotonic() < deadline:
        time.sleep(0.01)
    writer.stop()
    return history.ops()[:writes]


def test_writer_classifies_failures_before_commit_as_fail_and_during_commit_as_info():
    history = History()
    writer = ScriptedWriter(history, ["connect", "execute", "commit", None])
    ops = run_writer(writer, history, 5)
    assert [(op.value, op.outcome) for op in ops] == [
        (1, "fail"),
        (2, "fail"),
        (3, "info"),
        (4, "ok"),
        (5, "ok"),
    ]
    assert ops[0].error == "OperationalError: connection refused"
    # a fresh connection after each failure, then the good one is kept
    assert len(writer.connections) == 3
    assert [c.closed for c in writer.connections] == [True, True, True]


def test_writer_deadline_cuts_a_commit_that_never_answers():
    history = History()
    writer = ScriptedWriter(history, ["commit-hang", "execute-hang"], timeout_s=0.2)
    ops = run_writer(writer, history, 3)
    assert [op.outcome for op in ops] == ["info", "fail", "ok"]
    assert ops[0].error.startswith("no answer within 0.2 s")
    assert ops[0].latency == pytest.approx(0.2, abs=0.1)


# --- Writer against a real, throwaway PostgreSQL 15 ---


def as_postgres(*args: str) -> None:
    subprocess.run(
        ["runuser", "-u", "postgres", "--", *args], check=True, capture_output=True, timeout=60
    )


@pytest.fixture
def postgres() -> Iterator[tuple[str, Path]]:
    if not (PG_BIN / "initdb").exists() or shutil.which("runuser") is None:
        pytest.skip(f"PostgreSQL 15 binaries not found in {PG_BIN}")
    run_dir = Path(tempfile.mkdtemp(prefix="drillbook-test-"))
    run_dir.chmod(0o755)
    shutil.chown(run_dir, "postgres", "postgres")
    data = run_dir / "data"
    port = closed_port()
    try:
        as_postgres(str(PG_BIN / "initdb"), "-D", str(data), "-A", "trust", "-U", "postgres")
        (data / "postgresql.auto.conf").write_text(
            f"port = {port}\nlisten_addresses = '127.0.0.1'\n"
            f"unix_socket_directories = '{run_dir}'\nfsync = off\n"
        )
        pg_ctl(data, "start")
        dsn = f"host=127.0.0.1 port={port} user=postgres dbname=postgres"
        with psycopg.connect(dsn, autocommit=True, connect_timeout=5) as conn:
            conn.execute("CREATE TABLE drill_writes (id bigint PRIMARY KEY, payload text)")
        yield dsn, data
    finally:
        if (data / "postmaster.pid").exists():
            pg_ctl(data, "stop", "-m", "immediate")
        shutil.rmtree(run_dir, ignore_errors=True)


def pg_ctl(data: Path, action: str, *options: str) -> None:
    log = data.parent / "postgres.log"
    as_postgres(
        str(PG_BIN / "pg_ctl"), "-D", str(data), "-l", str(log), "-w", "-t", "30", action, *options
    )


@pytest.mark.integration
def test_writer_against_postgres_survives_a_restart_without_losing_acknowledged_rows(postgres):
    dsn, data = postgres
    history = History()
    writer = Writer(history, lambda: dsn, interval_s=0.02, timeout_s=1.0)
    writer.start()
    time.sleep(0.6)
    t0 = time.time()
    pg_ctl(data, "stop", "-m", "fast")
    time.sleep(0.3)
    pg_ctl(data, "start")
    time.sleep(0.6)
    writer.stop()

    survivors = surviving_ids(dsn)
    ops = history.ops(process="writer")
    outcomes = {op.outcome for op in ops}
    assert {"ok", "fail"} <= outcomes
    assert {op.value for op in ops if op.outcome == "ok"} <= survivors
    assert not {op.value for op in ops if op.outcome == "fail"} & survivors
    assert lost_writes(history, survivors).passed
    recovery = rpo(history, t0, survivors, 300)
    assert recovery.passed and recovery.figure < 0.5, recovery.explanation
