"""Up, status and down of a detached stack: its daemon (drillbook.detached.daemon) started in the
background, waited for, asked, and stopped.

The daemon runs in a session of its own, so it outlives the shell that ran `up`. Every wait is
bounded: `up` gives up (and stops what it started) when the stack is not ready in time, `down`
escalates to SIGKILL and then stops the stack's processes itself with the stop-local-stack
recover op, which finds them by their logs in the run folder, not by the daemon's memory.
"""

from __future__ import annotations

import contextlib
import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

from drillbook.detached.live_profile import env_file_of, write_profile
from drillbook.detached.runbook import DOWN_TIMEOUT_S, ControlError, StackDir, request
from drillbook.faults.recover import stop_local_stack
from drillbook.stack.process import log_tail, pid_alive

KILL_WAIT_S = 5.0
PROGRESS_EVERY_S = 5.0
ANSWER_TIMEOUT_S = 5.0

Say = Callable[[str], None]


def daemon_pid(stack: StackDir) -> int | None:
    """The pid of the daemon serving `stack`; None when none runs (a stale pid file names
    none, nor a pid reused by another program)."""
    try:
        pid = int(stack.pid_file.read_text().strip())
    except (OSError, ValueError):
        return None
    try:
        argv = Path(f"/proc/{pid}/cmdline").read_bytes().split(b"\0")
    except OSError:
        return None
    ours = b"serve" in argv and str(stack.path).encode() in argv
    return pid if ours and pid_alive(pid) else None


def up(stack: StackDir, env_name: str, profile: Path | None, timeout_s: float, say: Say) -> int:
    """Start the daemon unless one runs, wait until it serves, write the live profile."""
    profile = (profile or stack.default_profile).absolute()
    env_file_of(profile)  # a wrong path is refused before anything starts
    _make_dir(stack.path)
    pid = daemon_pid(stack)
    child = None
    if pid is not None:
        say(f"the stack already runs in {stack.path} (daemon pid {pid})")
    else:
        _clear_leftovers(stack, say)
        child = _spawn(stack, env_name)
        pid = child.pid
        say(f"starting the stack in {stack.path} (daemon pid {pid}, log {stack.log})")
    if not _wait_ready(stack, pid, child, timeout_s, say):
        return 1
    env_file = write_profile(json.loads(stack.state_file.read_text()), profile)
    say(f"live profile: {profile}")
    say(f"its variables: {env_file}")
    say(f"set -a; . {env_file}; set +a")
    return 0


def status(stack: StackDir, say: Say) -> int:
    """The daemon's account of the stack as JSON; 1 when no daemon answers."""
    try:
        answer = request(stack, "status", {}, ANSWER_TIMEOUT_S)
    except ControlError as exc:
        pid = daemon_pid(stack)
        if pid is None:
            left = f"; {stack.run_dir} is left, `down` stops it" if stack.run_dir.exists() else ""
            print(f"no stack runs in {stack.path}{left}", file=sys.stderr)
        else:
            print(f"the daemon (pid {pid}) of {stack.path} does not answer: {exc}", file=sys.stderr)
        return 1
    say(json.dumps(answer, indent=2))
    return 0


def down(stack: StackDir, timeout_s: float, say: Say) -> int:
    """Stop the daemon (SIGTERM, then SIGKILL) and whatever of the stack is left."""
    pid = daemon_pid(stack)
    if pid is not None:
        say(f"stopping the stack in {stack.path} (daemon pid {pid})")
        _signal(pid, signal.SIGTERM)
        if not _wait_gone(pid, timeout_s, say):
            say(f"the daemon did not stop within {timeout_s:g} s: SIGKILL")
            _signal(pid, signal.SIGKILL)
            if not _wait_gone(pid, KILL_WAIT_S, say):
                print(f"the daemon (pid {pid}) survives SIGKILL", file=sys.stderr)
                return 1
    _clear_leftovers(stack, say)
    say(f"no stack runs in {stack.path}")
    return 0


def _make_dir(path: Path) -> None:
    """Created searchable by all: PostgreSQL, running as another user, reaches its data below."""
    if not path.exists():
        path.mkdir(parents=True)
        path.chmod(0o755)


def _spawn(stack: StackDir, env_name: str) -> subprocess.Popen[bytes]:
    argv = [sys.executable, "-m", "drillbook.stack", "serve", "--dir", str(stack.path)]
    with open(stack.log, "wb") as log:
        return subprocess.Popen(
            [*argv, "--env", env_name],
            stdin=subprocess.DEVNULL,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )


def _wait_ready(
    stack: StackDir,
    pid: int,
    child: subprocess.Popen[bytes] | None,
    timeout_s: float,
    say: Say,
) -> bool:
    """Until the daemon answers (True), dies or runs out of time (False, after saying why)."""
    started = time.monotonic()
    next_note = started + PROGRESS_EVERY_S
    while not _answers(stack):
        now = time.monotonic()
        alive = child.poll() is None if child else daemon_pid(stack) == pid
        if not alive:
            say(f"the daemon died; the end of {stack.log}:\n{log_tail(stack.log, 25)}")
            return False
        if now - started >= timeout_s:
            say(f"not ready within {timeout_s:g} s; the end of {stack.log}:")
            say(log_tail(stack.log, 25))
            down(stack, DOWN_TIMEOUT_S, say)
            return False
        if now >= next_note:
            say(f"  still starting ({now - started:.0f} s): {log_tail(stack.log, 1)}")
            next_note += PROGRESS_EVERY_S
        time.sleep(0.2)
    say(f"the stack is up in {stack.path} ({time.monotonic() - started:.0f} s)")
    return True


def _answers(stack: StackDir) -> bool:
    try:
        request(stack, "ping", {}, ANSWER_TIMEOUT_S)
    except ControlError:
        return False
    return True


def _signal(pid: int, sig: int) -> None:
    with contextlib.suppress(ProcessLookupError):
        os.kill(pid, sig)


def _wait_gone(pid: int, timeout_s: float, say: Say) -> bool:
    started = time.monotonic()
    next_note = started + PROGRESS_EVERY_S
    while pid_alive(pid):
        now = time.monotonic()
        if now - started >= timeout_s:
            return False
        if now >= next_note:
            say(f"  waiting for the daemon to stop the stack ({now - started:.0f} s)")
            next_note += PROGRESS_EVERY_S
        time.sleep(0.1)
    return True


def _clear_leftovers(stack: StackDir, say: Say) -> None:
    """What a daemon that is gone left: its stack's processes and run folder, its files."""
    if stack.run_dir.exists():
        say(f"stopping what is left in {stack.run_dir}")
        say(f"  {stop_local_stack({'run_dir': str(stack.run_dir)})}")
    for path in (stack.socket, stack.state_file, stack.pid_file):
        path.unlink(missing_ok=True)
