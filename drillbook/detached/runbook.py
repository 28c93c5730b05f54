"""The runbook of the detached stack: its actions, and how a command asks the daemon for one.

`python -m drillbook.stack up` leaves the embedded stack running under a daemon, standing in
for a team's staging; each action here (kill-postgres, promote-standby, pitr, roll-out, ...) is
one command acting on it, as a team's runbook scripts act on theirs. A live profile binds its
faults and remediations to these commands. Each command is a fresh process per fault, so this
module and the client side of the protocol import only the standard library.

The protocol: one connection per request on the Unix socket DIR/control.sock; the client sends
one JSON line {"action": name, "args": {...}}, the daemon answers one JSON line
{"ok": true, "result": ...} or {"ok": false, "error": "..."}.
"""

from __future__ import annotations

import json
import os
import socket
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

DIR_VARIABLE = "DRILLBOOK_STACK_DIR"
DEFAULT_DIR = Path("/tmp/drillbook-stack")
# Named so that the stop-local-stack recover op (drillbook.faults.recover) accepts it.
RUN_FOLDER = "drillbook-run-stack"
# How long `up` waits for the stack, `down` for the daemon to stop it before SIGKILL (the
# daemon first lets a running action finish, for up to a minute).
UP_TIMEOUT_S = 180.0
DOWN_TIMEOUT_S = 90.0
# A daemon busy with one action makes the next wait this long before refusing it.
BUSY_WAIT_S = 10.0
# What a client adds to an action's own limit: the busy wait, then the answer's way back.
CLIENT_MARGIN_S = BUSY_WAIT_S + 5.0
MAX_MESSAGE = 1 << 20
# Longest path a Unix socket can bind to (sun_path, with its terminating NUL).
MAX_SOCKET_PATH = 107


class ControlError(RuntimeError):
    """The daemon could not be asked, or it refused or failed the action."""


@dataclass(frozen=True)
class StackDir:
    """The files of one detached stack, all in one folder."""

    path: Path

    @classmethod
    def chosen(cls, given: str | None) -> StackDir:
        """--dir, else $DRILLBOOK_STACK_DIR, else /tmp/drillbook-stack."""
        return cls(Path(given or os.environ.get(DIR_VARIABLE) or DEFAULT_DIR).absolute())

    @property
    def pid_file(self) -> Path:
        return self.path / "daemon.pid"

    @property
    def state_file(self) -> Path:
        return self.path / "state.json"

    @property
    def socket(self) -> Path:
        return self.path / "control.sock"

    @property
    def log(self) -> Path:
        return self.path / "daemon.log"

    @property
    def run_dir(self) -> Path:
        return self.path / RUN_FOLDER

    @property
    def default_profile(self) -> Path:
        return self.path / "staging.yaml"


@dataclass(frozen=True)
class Param:
    """A parameter of an action, given as --NAME on the command line."""

    name: str
    type: str  # "str", "float" or "time" (ISO 8601 with an offset, passed on as text)
    help: str
    choices: tuple[str, ...] | None = None

    @property
    def flag(self) -> str:
        return "--" + self.name.replace("_", "-")

    def parse(self, value: Any) -> Any:
        """The value as the action takes it; ValueError naming the flag when it is not one."""
        if self.type == "float":
            try:
                return float(value)
            except (TypeError, ValueError):
                raise ValueError(f"{self.flag} must be a number, not {value!r}") from None
        text = str(value)
        if self.choices and text not in self.choices:
            raise ValueError(f"{self.flag} must be one of {list(self.choices)}, not {text!r}")
        if self.type == "time":
            try:
                parsed = datetime.fromisoformat(text)
            except ValueError:
                raise ValueError(f"{self.flag} {text!r} is not an ISO 8601 time") from None
            if parsed.tzinfo is None:
                raise ValueError(f"{self.flag} {text!r} has no UTC offset (e.g. +00:00)")
        return text


@dataclass(frozen=True)
class ActionSpec:
    name: str
    help: str
    params: tuple[Param, ...] = ()
    # How long the daemon lets it run before answering that it did not finish.
    timeout_s: float = 60.0

    def parse_args(self, args: dict[str, Any]) -> dict[str, Any]:
        """Every parameter given, none unknown, each of its type (ValueError otherwise)."""
        names = {param.name for param in self.params}
        unknown = sorted(set(args) - names)
        if unknown:
            takes = ", ".join(param.flag for param in self.params) or "none"
            raise ValueError(f"{self.name} takes no argument {unknown[0]!r} (it takes: {takes})")
        missing = [param.flag for param in self.params if param.name not in args]
        if missing:
            raise ValueError(f"{self.name} needs {', '.join(missing)}")
        return {param.name: param.parse(args[param.name]) for param in self.params}


ZONE = Param("zone", "str", "the PostgreSQL zone (az-a, az-b)")
INSTANCE = Param("name", "str", "the name of a restored instance")
REGION = Param("region", "str", "the warm-standby region (ap-northeast-1)")
ACTIONS: dict[str, ActionSpec] = {
    spec.name: spec
    for spec in (
        ActionSpec("kill-postgres", "kill -9 the primary PostgreSQL of a zone", (ZONE,)),
        ActionSpec(
            "promote-standby",
            "promote the standby of a zone to primary",
            (Param("candidate", "str", "the zone of the standby to promote"),),
        ),
        ActionSpec(
            "heal-database",
            "az-a primary, az-b streaming standby, the service on az-a",
            timeout_s=180.0,
        ),
        ActionSpec(
            "pitr",
            "restore a new instance to a point in time from the base backup and WAL archive",
            (Param("target", "time", "ISO 8601 time with an offset"), INSTANCE),
            timeout_s=300.0,
        ),
        ActionSpec("drop-restored", "stop and remove a restored instance", (INSTANCE,)),
        ActionSpec(
            "switch-database",
            "point the service at a zone or a restored instance",
            (Param("name", "str", "a zone or the name of a restored instance"),),
        ),
        ActionSpec(
            "switch-cache",
            "point the service at a Redis node",
            (Param("node", "str", "the Redis node", ("primary", "replica")),),
        ),
        ActionSpec(
            "cache-mode",
            "force L2 (every replica reads Redis alone, its L1 bypassed) or put the L1 back",
            (Param("l2", "str", "the cache mode", ("forced", "behind-l1")),),
        ),
        ActionSpec(
            "publish-config",
            "publish the configuration the replicas run with changes, as a release",
            (
                Param("changes", "str", "JSON object: dotted key -> value"),
                Param("trace_id", "str", "the release's W3C trace id"),
            ),
        ),
        ActionSpec(
            "rotate-key",
            "publish a new secret at a key, valid some days, as a release",
            (
                Param("key", "str", "the secret's dotted key"),
                Param("days", "float", "how long the new secret is valid"),
                Param("trace_id", "str", "the release's W3C trace id"),
            ),
        ),
        ActionSpec("publish-running", "publish the configuration the replicas run again"),
        ActionSpec(
            "heal-redis",
            "Redis primary up and followed by its replica, the service on the primary",
            timeout_s=120.0,
        ),
        ActionSpec("kill-redis-primary", "kill -9 the Redis primary"),
        ActionSpec("wipe-redis-primary", "delete the Redis primary's AOF and RDB, as a lost disk"),
        ActionSpec(
            "restart-redis-primary", "start the Redis primary from its data and wait until loaded"
        ),
        ActionSpec("promote-redis-replica", "promote the Redis replica to primary"),
        ActionSpec(
            "roll-out",
            "roll every replica not on a version to it, one at a time (release or rollback)",
            (Param("version", "str", "the version to run"),),
            timeout_s=300.0,
        ),
        ActionSpec(
            "kill-export-worker",
            "kill -9 the export worker once it holds a task",
            (Param("timeout", "float", "seconds to wait for a task in hand"),),
            timeout_s=120.0,
        ),
        ActionSpec("heal-export-worker", "an export worker running again"),
        ActionSpec(
            "take-over",
            "the warm-standby playbook: the region's standby promoted, its Redis rebuilt, "
            "its replicas restarted",
            (REGION,),
            timeout_s=180.0,
        ),
        ActionSpec(
            "hand-back",
            "what take-over did undone: the standby region a warm standby again (nothing for "
            "the primary region, whose failback needs no undoing)",
            (REGION,),
            timeout_s=180.0,
        ),
        ActionSpec(
            "stand-by",
            "the region a warm standby of the region taking the writes, re-seeded from it",
            (REGION,),
            timeout_s=180.0,
        ),
        ActionSpec(
            "reclaim",
            "what stand-by did undone: the primary region writable again with what it holds "
            "(nothing for the standby region, a warm standby being its normal state)",
            (REGION,),
            timeout_s=180.0,
        ),
    )
}


def request(stack: StackDir, action: str, args: dict[str, Any], timeout_s: float) -> Any:
    """Ask the daemon of `stack` to carry out `action`; its result, or ControlError."""
    path = str(stack.socket)
    if not stack.socket.exists():
        raise ControlError(
            f"no stack runs in {stack.path} (no {stack.socket.name} there); "
            "start one with: python -m drillbook.stack up"
        )
    with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as conn:
        conn.settimeout(timeout_s)
        try:
            conn.connect(path)
            send(conn, {"action": action, "args": args})
            answer = receive(conn)
        except TimeoutError:
            raise ControlError(
                f"no answer from the daemon on {path} within {timeout_s:g} s"
            ) from None
        except OSError as exc:
            raise ControlError(f"the daemon does not answer on {path}: {exc}") from None
    if not answer.get("ok"):
        raise ControlError(answer.get("error", f"malformed answer {answer!r}"))
    return answer.get("result")


def send(conn: socket.socket, message: dict[str, Any]) -> None:
    conn.sendall(json.dumps(message, default=_jsonable).encode() + b"\n")


def receive(conn: socket.socket) -> dict[str, Any]:
    """One JSON line; the connection's timeout bounds the wait."""
    data = b""
    while not data.endswith(b"\n"):
        chunk = conn.recv(65536)
        if not chunk:
            break
        data += chunk
        if len(data) > MAX_MESSAGE:
            raise ControlError(f"message longer than {MAX_MESSAGE} bytes")
    try:
        message = json.loads(data)
    except json.JSONDecodeError as exc:
        raise ControlError(f"not a JSON message: {data[:200]!r}") from exc
    if not isinstance(message, dict):
        raise ControlError(f"not a JSON object: {data[:200]!r}")
    return message


def _jsonable(value: Any) -> Any:
    """Times as ISO 8601; anything else JSON does not know as its text."""
    return value.isoformat() if isinstance(value, datetime) else str(value)
