"""Recovery of what a killed run left behind, from the journal alone.

A run killed with SIGKILL reverts nothing: its faults stay injected and its local stack keeps
running, orphaned. The next run reads the journal before anything else and undoes what is left
with the recover op each entry recorded, since no Python object of the dead run survives. An
op is a name in OPS and its parameters, e.g. {"op": "toxiproxy-reset", "url": ..., "proxy": ...}.
"""

from __future__ import annotations

import contextlib
import fcntl
import importlib
import os
import shutil
import signal
import time
from collections import defaultdict
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import IO, Any

from drillbook.faults.journal import (
    CLOSES,
    append_line,
    never_closed,
    read_lines,
    run_alive,
    run_id,
)
from drillbook.procstat import stat_fields
from drillbook.stack.pod_network import release_subnet
from drillbook.toxiproxy import ToxiproxyClient

RecoverOp = Callable[[dict[str, Any]], str]
OPS: dict[str, RecoverOp] = {}
# Modules that register recover ops of their own and import this one, so it cannot import them
# when it loads: imported before an op runs, so a run finds every op a killed run journaled.
OP_MODULES = (
    "drillbook.environments.aws_cloud",
    "drillbook.environments.cluster_platform",
    "drillbook.environments.container_faults",
    "drillbook.environments.live.bindings",
    "drillbook.environments.live.recovery",
)

# The environment fixture names its run folders so; nothing else is ever stopped or removed.
RUN_DIR_PREFIX = "drillbook-run-"
# Where the local stack keeps its Kubernetes, the record of its Pods' addresses included: this
# folder for the primary region's cluster, and one named kube-<region> for each other region's.
KUBE_FOLDER = "kube"
STOP_GRACE_S = 10.0
KILL_WAIT_S = 5.0
# Another run recovering the same journal stops at most a stack: this is well above that.
LOCK_WAIT_S = 60.0


class UnknownRecoverOp(ValueError):
    """The journal names a recover op this version does not have."""


class NoRecoverOp(RuntimeError):
    """The entry was journaled without a recover op and nothing else undoes it."""


def recover_op(name: str) -> Callable[[RecoverOp], RecoverOp]:
    def register(op: RecoverOp) -> RecoverOp:
        OPS[name] = op
        return op

    return register


def run_recover(recover: dict[str, Any]) -> str:
    """Carry out one recover op; return what it did."""
    for module in OP_MODULES:
        importlib.import_module(module)
    params = dict(recover)
    name = params.pop("op", None)
    if name not in OPS:
        raise UnknownRecoverOp(f"unknown recover op {name!r} (known: {', '.join(sorted(OPS))})")
    return OPS[name](params)


@recover_op("toxiproxy-reset")
def toxiproxy_reset(params: dict[str, Any]) -> str:
    """{"url": Toxiproxy API, "proxy": name}: the proxy enabled and free of toxics."""
    client = ToxiproxyClient(params["url"])
    try:
        client.reset_proxy(params["proxy"])
    finally:
        client.close()
    return f"proxy {params['proxy']} at {params['url']} enabled, toxics removed"


def local_stack_recover(run_dir: Path) -> dict[str, Any]:
    return {"op": "stop-local-stack", "run_dir": str(run_dir)}


@recover_op("stop-local-stack")
def stop_local_stack(params: dict[str, Any]) -> str:
    """{"run_dir": folder}: every process of the stack stopped, its Pods' addresses taken
    off the loopback interface, then the folder removed.

    Postmasters get SIGQUIT (immediate shutdown, which also stops their workers), the other
    programs SIGTERM; whatever is left after STOP_GRACE_S is killed with SIGKILL.
    """
    run_dir = Path(params["run_dir"])
    if not run_dir.is_absolute() or not run_dir.name.startswith(RUN_DIR_PREFIX):
        raise ValueError(
            f"refusing to stop processes of {run_dir}: not a local stack run folder "
            f"(an absolute path named {RUN_DIR_PREFIX}*)"
        )
    found = processes_of(run_dir)
    for pid, (ppid, argv) in found.items():
        sig = _first_signal(argv, ppid in found)
        if sig is not None:
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, sig)
    killed = _kill_left(run_dir, _wait_gone(run_dir, STOP_GRACE_S))
    programs = sorted({_program(argv) for _, argv in found.values()})
    done = [f"stopped {len(found)} processes ({', '.join(programs)})" if found else "no process"]
    if killed:
        done.append(f"{killed} with SIGKILL")
    addresses = [
        a for kube in sorted(run_dir.glob(f"{KUBE_FOLDER}*")) for a in release_subnet(kube)
    ]
    if addresses:
        done.append(f"removed pod addresses {', '.join(addresses)}")
    if run_dir.exists():
        shutil.rmtree(run_dir)
        done.append(f"removed {run_dir}")
    return ", ".join(done)


def processes_of(run_dir: Path) -> dict[int, tuple[int, list[str]]]:
    """pid -> (parent pid, command line) of each process whose stdout or stderr is in run_dir.

    Every component writes its log there and what it spawns (PostgreSQL workers, the program
    behind runuser) inherits it. The command line is no substitute: Redis and PostgreSQL workers
    rename themselves and Toxiproxy's names no folder. An unrelated process, even one that
    reused a pid of the stack, does not write there.
    """
    inside = f"{run_dir}/"
    found = {}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit() or int(entry.name) == os.getpid():
            continue
        for fd in ("1", "2"):
            try:
                if not os.readlink(entry / "fd" / fd).startswith(inside):
                    continue
                fields = stat_fields(entry)
                argv = (entry / "cmdline").read_bytes().decode(errors="replace").split("\0")
            except OSError:  # gone meanwhile, or that fd is closed
                continue
            if fields is None:
                continue
            found[int(entry.name)] = (int(fields[1]), argv)
            break
    return found


def _program(argv: list[str]) -> str:
    """The program's name, also for a retitled worker ("postgres: az-b: checkpointer")."""
    words = argv[0].split(":")[0].split()
    return Path(words[0]).name if words else "?"


def _first_signal(argv: list[str], parent_is_of_stack: bool) -> int | None:
    if Path(argv[0]).name == "postgres" and "-D" in argv:  # the postmaster, not a worker
        return signal.SIGQUIT  # immediate shutdown: no waiting for clients
    if parent_is_of_stack or _program(argv) == "runuser":
        return None  # goes with its parent (workers) or its child (runuser)
    return signal.SIGTERM


def _wait_gone(run_dir: Path, timeout_s: float) -> dict[int, tuple[int, list[str]]]:
    deadline = time.monotonic() + timeout_s
    while (left := processes_of(run_dir)) and time.monotonic() < deadline:
        time.sleep(0.1)
    return left


def _kill_left(run_dir: Path, left: dict[int, tuple[int, list[str]]]) -> int:
    """SIGKILL what is left, again for anything forked meanwhile; return how many were killed."""
    killed = set(left)
    deadline = time.monotonic() + KILL_WAIT_S
    while left:
        if time.monotonic() >= deadline:
            raise RuntimeError(f"processes of {run_dir} alive after SIGKILL: {sorted(left)}")
        for pid in left:
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGKILL)
        time.sleep(0.05)
        left = processes_of(run_dir)
        killed |= set(left)
    return len(killed)


def recover_journal(path: Path, progress: Callable[[str], None]) -> list[str]:
    """Revert what runs that are gone left in the journal at `path`; return the failures.

    Every revert is tried and journaled with the recovering run; failures are reported as they
    happen and together at the end. A journal whose runs all ended normally is silent.
    """
    if not path.exists():
        return []
    with path.open("a") as journal, _locked(journal) as locked:
        if not locked:
            progress(f"another run has been recovering {path} for {LOCK_WAIT_S:g} s; not waiting")
            return []
        lines, unreadable = read_lines(path)
        if unreadable:
            progress(
                f"{path}: lines {unreadable} are not JSON; any fault they held is not reverted"
            )
        by_run: dict[str, list[dict[str, Any]]] = defaultdict(list)
        for entry in never_closed(lines):
            by_run[entry["run"]].append(entry)
        failures: list[str] = []
        recovered = 0
        for run, entries in by_run.items():
            alive = run_alive(run)
            if alive is None:
                progress(
                    f"{_count(entries)} left by run {run} not reverted: cannot tell whether "
                    "that run is still going (another host?)"
                )
            elif not alive:  # a live run's faults are its own to revert
                failures += _recover_run(path, run, entries, progress)
                recovered += len(entries)
    if failures:
        progress(
            f"could not revert {len(failures)} of {recovered} entries left by earlier runs; "
            f"the journal records each error, check them by hand: {'; '.join(failures)}"
        )
    elif recovered:
        progress(f"reverted all {recovered} entries left by earlier runs")
    return failures


@contextlib.contextmanager
def _locked(journal: IO[str]) -> Iterator[bool]:
    """Hold the journal's lock, so two runs starting together do not both recover it."""
    deadline = time.monotonic() + LOCK_WAIT_S
    while True:
        try:
            fcntl.flock(journal.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
            break
        except BlockingIOError:
            if time.monotonic() >= deadline:
                yield False
                return
            time.sleep(0.2)
    try:
        yield True
    finally:
        fcntl.flock(journal.fileno(), fcntl.LOCK_UN)


def _recover_run(
    path: Path, run: str, entries: list[dict[str, Any]], progress: Callable[[str], None]
) -> list[str]:
    pid = run.rsplit(":", 2)[1]
    progress(
        f"found {_count(entries)} left by run {run} (pid {pid}, no longer running: killed before "
        "it could revert them): reverting them before anything else"
    )
    # Faults with no recover op of their own live in a held resource (the local stack) and go
    # with it.
    holders = [e["kind"] for e in entries if e.get("resource") and e.get("recover")]
    failures = []
    for entry in reversed(entries):
        label = f"#{entry['id']} {entry['kind']} on {entry['target']}"
        error = None
        try:
            progress(f"  reverted {label}: {_revert(entry, holders)}")
        except Exception as exc:  # keep reverting the others; all are reported at the end
            error = f"{type(exc).__name__}: {exc}"
            progress(f"  FAILED to revert {label}: {error}")
            failures.append(f"run {run} {label}: {error}")
        now = time.time()
        closed = {"event": CLOSES[entry["event"]], "at": now, "reverted_at": now}
        append_line(path, {**entry, **closed, "revert_error": error, "recovered_by": run_id()})
    return failures


def _revert(entry: dict[str, Any], holders: list[str]) -> str:
    if entry.get("recover"):
        return run_recover(entry["recover"])
    if holders and not entry.get("resource"):
        return f"no recover op of its own; undone when the {' and '.join(holders)} is stopped"
    raise NoRecoverOp("no recover op was journaled, so it cannot be reverted; check by hand")


def _count(entries: list[dict[str, Any]]) -> str:
    faults = sum(not e.get("resource") for e in entries)
    parts = [f"{faults} fault{'s' if faults != 1 else ''}"] if faults else []
    parts += [f"the {e['kind']}" for e in entries if e.get("resource")]
    return " and ".join(parts)
