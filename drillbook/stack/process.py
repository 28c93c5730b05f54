"""Long-running and one-shot child processes of the local stack.

A managed process runs in its own session, so stopping it can sweep everything it spawned
(PostgreSQL backends, the program behind `runuser`) with one signal to the process group.
"""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import time
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path

import httpx

from drillbook.commands import CommandLog
from drillbook.procstat import pid_fields, stat_fields


class ComponentNotReady(RuntimeError):
    def __init__(
        self, component: str, log_path: Path, timeout_s: float, last_error: str | None
    ) -> None:
        self.component = component
        self.log_path = log_path
        self.timeout_s = timeout_s
        self.last_error = last_error
        # The run folder may be gone by the time someone reads the error: quote the log's end.
        self.log_tail = log_tail(log_path)
        super().__init__(
            f"{component} did not become ready within {timeout_s:g} s "
            f"(last error: {last_error or 'none'}); see log {log_path}"
            + (f"\n--- last lines of {log_path.name} ---\n{self.log_tail}" if self.log_tail else "")
        )


def stop_all(stops: Sequence[tuple[str, Callable[[], None]]], what: str) -> None:
    """Call every (name, stop) in order; one that fails does not keep the others running:
    the failures are raised together, naming `what` did not stop cleanly."""
    failures = []
    for name, stop in stops:
        try:
            stop()
        except Exception as exc:  # keep stopping the rest
            failures.append(f"{name}: {type(exc).__name__}: {exc}")
    if failures:
        raise RuntimeError(f"{what} did not stop cleanly: {failures}")


def log_tail(path: Path, lines: int = 10) -> str:
    try:
        text = path.read_text(errors="replace")
    except OSError:
        return ""
    return "\n".join(text.rstrip().splitlines()[-lines:])


class CommandFailed(RuntimeError):
    def __init__(self, argv: Sequence[str], returncode: int | None, output: str) -> None:
        status = "timed out" if returncode is None else f"exited with {returncode}"
        super().__init__(f"{' '.join(argv)} {status}: {output.strip()[-2000:]}")
        self.argv = list(argv)
        self.returncode = returncode
        self.output = output


def as_user(argv: Sequence[str], user: str | None) -> list[str]:
    return ["runuser", "-u", user, "--", *argv] if user else list(argv)


def run_command(
    argv: Sequence[str],
    *,
    timeout_s: float,
    user: str | None = None,
    cwd: Path | None = None,
    log: CommandLog | None = None,
    env: Mapping[str, str] | None = None,
) -> str:
    """Run to completion; return stdout+stderr, raise CommandFailed on failure or timeout.
    With a `log`, the command and its output are recorded there, failed or not."""
    full = as_user(argv, user)
    try:
        done = subprocess.run(
            full,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
            cwd=cwd,
            env=env,
            timeout=timeout_s,
        )
    except subprocess.TimeoutExpired as exc:
        if log is not None:
            log.add(argv, f"timed out after {timeout_s:g} s\n{exc.output or ''}", ok=False)
        raise CommandFailed(full, None, str(exc.output or "")) from exc
    if log is not None:
        log.add(argv, done.stdout, ok=done.returncode == 0)
    if done.returncode != 0:
        raise CommandFailed(full, done.returncode, done.stdout)
    return done.stdout


def _parent_pids() -> dict[int, int]:
    """pid -> parent pid of every process."""
    parents = {}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        fields = stat_fields(entry)
        if fields is not None:
            parents[int(entry.name)] = int(fields[1])
    return parents


def descendants(pid: int) -> list[int]:
    parents = _parent_pids()
    found, frontier = [], [pid]
    while frontier:
        children = [child for child, parent in parents.items() if parent in frontier]
        found += children
        frontier = children
    return found


def pid_alive(pid: int) -> bool:
    """True while the process exists and is not a zombie."""
    fields = pid_fields(pid)
    return fields is not None and fields[0] != "Z"


class ManagedProcess:
    """A child process with its output in a log file, readiness polling and a bounded stop."""

    def __init__(
        self,
        component: str,
        argv: Sequence[str],
        log_path: Path,
        *,
        user: str | None = None,
        cwd: Path | None = None,
        env: Mapping[str, str] | None = None,
    ) -> None:
        self.component = component
        self.argv = list(argv)
        self.log_path = log_path
        self.user = user
        self.cwd = cwd
        self.env = dict(env) if env is not None else None
        self._popen: subprocess.Popen[bytes] | None = None

    def start(self) -> None:
        if self.alive:
            raise RuntimeError(f"{self.component} is already running (pid {self.pid})")
        self.log_path.parent.mkdir(parents=True, exist_ok=True)
        with open(self.log_path, "ab") as log:
            try:
                self._popen = subprocess.Popen(
                    as_user(self.argv, self.user),
                    stdin=subprocess.DEVNULL,
                    stdout=log,
                    stderr=subprocess.STDOUT,
                    cwd=self.cwd,
                    env=self.env,
                    start_new_session=True,
                )
            except OSError as exc:
                raise ComponentNotReady(self.component, self.log_path, 0, str(exc)) from exc

    @property
    def pid(self) -> int | None:
        """Pid of the program itself (behind `runuser` when run as another user)."""
        if self._popen is None or self._popen.poll() is not None:
            return None
        if not self.user:
            return self._popen.pid
        children = [pid for pid, parent in _parent_pids().items() if parent == self._popen.pid]
        return children[0] if children else None

    @property
    def alive(self) -> bool:
        return self._popen is not None and self._popen.poll() is None

    @property
    def returncode(self) -> int | None:
        return None if self._popen is None else self._popen.poll()

    def wait_ready(
        self, check: Callable[[], object], timeout_s: float, interval_s: float = 0.05
    ) -> None:
        """Poll `check` until it returns without raising; give up at the deadline.

        A check signals "not yet" by raising; its message becomes the reported last error.
        """
        deadline = time.monotonic() + timeout_s
        last_error: str | None = None
        while True:
            if not self.alive:
                raise ComponentNotReady(
                    self.component,
                    self.log_path,
                    timeout_s,
                    f"process exited with code {self.returncode}; {last_error or 'no check ran'}",
                )
            try:
                check()
                return
            except Exception as exc:  # any failure of the check means "not yet"
                last_error = f"{type(exc).__name__}: {exc}".strip()
            if time.monotonic() >= deadline:
                raise ComponentNotReady(self.component, self.log_path, timeout_s, last_error)
            time.sleep(interval_s)

    def stop(self, sig: int = signal.SIGTERM, timeout_s: float = 10.0) -> None:
        """Send `sig` to the program; SIGKILL it and its children if not gone after `timeout_s`.

        The signal goes to the program, not to `runuser`, which would wait 2 s before exiting.
        Whatever is left in the process group afterwards is killed too.
        """
        if self._popen is None:
            return
        target = self.pid
        if target is not None:
            with contextlib.suppress(ProcessLookupError):
                os.kill(target, sig)
        try:
            self._popen.wait(timeout=timeout_s)
        except subprocess.TimeoutExpired:
            self.kill(timeout_s)
        self._kill_group()

    def kill(self, timeout_s: float = 10.0) -> None:
        """SIGKILL the program and every process it spawned at once, like a host crash.

        PostgreSQL gives each worker its own session, so workers are found by parentage, with
        the program stopped first so that it cannot fork while they are collected. `runuser`
        is left to reap the program: a killed parent would leave a zombie whose pid still
        holds PostgreSQL's lock files.
        """
        if self._popen is None:
            return
        if self._popen.poll() is None:
            root = self.pid or self._popen.pid
            with contextlib.suppress(ProcessLookupError):
                os.kill(root, signal.SIGSTOP)
            victims = [root, *descendants(root)]
            for pid in victims:
                with contextlib.suppress(ProcessLookupError):
                    os.kill(pid, signal.SIGKILL)
            self._wait_exit(timeout_s)
            self._wait_gone(victims, timeout_s)
        self._kill_group()

    def _wait_exit(self, timeout_s: float) -> None:
        """Wait for the spawned process, waking it: `runuser` stops itself when its child
        stops, and would otherwise sleep forever after the SIGSTOP in `kill`."""
        if self._popen is None:
            return
        deadline = time.monotonic() + timeout_s
        while True:
            with contextlib.suppress(ProcessLookupError):
                os.kill(self._popen.pid, signal.SIGCONT)
            try:
                self._popen.wait(timeout=0.05)
                return
            except subprocess.TimeoutExpired:
                if time.monotonic() >= deadline:
                    raise

    def _wait_gone(self, pids: list[int], timeout_s: float) -> None:
        deadline = time.monotonic() + timeout_s
        while alive := [pid for pid in pids if pid_alive(pid)]:
            if time.monotonic() >= deadline:
                raise RuntimeError(f"{self.component}: pids {alive} still alive after SIGKILL")
            time.sleep(0.01)

    def _kill_group(self) -> None:
        if self._popen is None:
            return
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(self._popen.pid, signal.SIGKILL)


class LocalProcess:
    """A component of the local stack: one ManagedProcess listening on a loopback port."""

    port: int
    ready_timeout_s: float
    _process: ManagedProcess

    @property
    def address(self) -> str:
        return f"127.0.0.1:{self.port}"

    @property
    def running(self) -> bool:
        return self._process.alive

    def pid(self) -> int | None:
        return self._process.pid

    def spawn(self) -> None:
        """Start the process without waiting, so other components can start meanwhile."""
        self._process.start()

    def stop(self) -> None:
        self._process.stop(timeout_s=self.ready_timeout_s)

    def wait_healthz(self) -> None:
        """Ready once GET /healthz answers 2xx (HTTP components)."""

        def healthy() -> None:
            httpx.get(f"http://{self.address}/healthz", timeout=1.0).raise_for_status()

        self._process.wait_ready(healthy, self.ready_timeout_s)
