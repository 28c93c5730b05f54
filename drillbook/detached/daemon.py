"""The daemon of a detached stack: the local environment kept running, serving the runbook.

`python -m drillbook.stack serve --dir DIR` (what `up` starts in the background) starts the
local environment of a profile in DIR/drillbook-run-stack, writes DIR/state.json (its endpoints,
credentials included, mode 0600) and answers the runbook's actions on DIR/control.sock until
SIGTERM or SIGINT, then stops the stack and removes its run folder. Every action is a
capability's operation or a heal of the local environment, as the harness itself would call it.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import socketserver
import threading
import time
import traceback
from collections.abc import Callable
from datetime import datetime
from pathlib import Path
from typing import Any

from drillbook.capabilities.operation import Operation
from drillbook.detached.runbook import (
    ACTIONS,
    BUSY_WAIT_S,
    MAX_SOCKET_PATH,
    ActionSpec,
    ControlError,
    StackDir,
    receive,
    send,
)
from drillbook.environments.local import LocalEnvironment
from drillbook.environments.local.heal import heal_database, heal_export_worker, heal_redis
from drillbook.evidence.redact import redact_obj
from drillbook.evidence.signals import NAMESPACE as METRICS_NAMESPACE
from drillbook.private_files import write_private
from drillbook.profile import Profile, load_profile, profile_path
from drillbook.stack import LocalStack
from drillbook.stack.kubernetes import KUBE_CONTEXT
from drillbook.stack.monitoring import SCRAPE_INTERVAL_S
from drillbook.stack.objectstore import EXPORTS_BUCKET
from drillbook.stack.service import NAME as SERVICE_NAME
from drillbook.stack.service import NAMESPACE, REPO_ROOT

ENVIRONMENTS = REPO_ROOT / "environments"
# How long a client may take to send its request.
READ_TIMEOUT_S = 10.0
# On stop, how long an action still running may take to finish before the stack stops anyway.
STOP_WAIT_S = 60.0


class Runbook:
    """Each action of drillbook.detached.runbook.ACTIONS as the method of its name (dashes as
    underscores), on the environment's capabilities and heals. Restored instances are kept by
    name, so drop-restored can remove what pitr made."""

    def __init__(self, env: LocalEnvironment) -> None:
        self.stack = env.stack
        self.database = env.capability("database")
        self.service = env.capability("service")
        self.cache = env.capability("cache")
        self.exports = env.capability("exports")
        self.restored: dict[str, Operation] = {}
        # Every component's last known pid, so status shows the dead ones too.
        self.seen: dict[str, int] = {}

    def method(self, spec: ActionSpec) -> Callable[..., Any]:
        return getattr(self, spec.name.replace("-", "_"))

    def kill_postgres(self, zone: str) -> dict[str, int]:
        return {"pid": self.database.kill_primary(zone).run()}

    def promote_standby(self, candidate: str) -> dict[str, Any]:
        return self.database.promote(candidate).run()

    def heal_database(self) -> dict[str, str]:
        heal_database(self.stack)
        return {"primary": self.database.primary().name}

    def pitr(self, target: str, name: str) -> dict[str, Any]:
        operation = self.database.restore_to(datetime.fromisoformat(target), name)
        instance = operation.run()
        self.restored[name] = operation
        return {"host": "127.0.0.1", "port": instance.node.port}

    def drop_restored(self, name: str) -> dict[str, str]:
        if name not in self.restored:
            raise LookupError(
                f"no restored instance {name!r} (restored: {sorted(self.restored) or 'none'})"
            )
        self.restored.pop(name).revert()
        self.seen.pop(f"postgres {name}", None)
        return {"dropped": name}

    def switch_database(self, name: str) -> dict[str, Any]:
        return self.service.point_database(name).run()

    def switch_cache(self, node: str) -> dict[str, Any]:
        return self.service.point_cache(node).run()

    def cache_mode(self, l2: str) -> dict[str, Any]:
        forcing = self.service.force_l2()
        return forcing.run() if l2 == "forced" else undone(forcing)

    def publish_config(self, changes: str, trace_id: str) -> dict[str, Any]:
        return self.service.publish_config(json.loads(changes), trace_id).run()

    def rotate_key(self, key: str, days: float, trace_id: str) -> dict[str, Any]:
        return self.service.rotate_key(key, days, trace_id).run()

    def publish_running(self) -> dict[str, Any]:
        self.stack.service.publish_running()
        return {}

    def heal_redis(self) -> dict[str, Any]:
        heal_redis(self.stack)
        return {}

    def kill_redis_primary(self) -> dict[str, int]:
        return {"pid": self.cache.kill_primary().run()}

    def wipe_redis_primary(self) -> dict[str, Any]:
        self.cache.wipe_primary().run()
        return {}

    def restart_redis_primary(self) -> dict[str, float]:
        return {"loaded_s": self.cache.restart_primary().run()}

    def promote_redis_replica(self) -> dict[str, Any]:
        self.cache.promote_replica().run()
        return {}

    def roll_out(self, version: str) -> list[dict[str, Any]]:
        return self.service.roll_to(version)

    def kill_export_worker(self, timeout: float) -> dict[str, Any]:
        return self.exports.kill_worker_mid_task(timeout).run()

    def heal_export_worker(self) -> dict[str, Any]:
        heal_export_worker(self.stack)
        return {}

    def take_over(self, region: str) -> dict[str, Any]:
        return self.service.take_over(region).run()

    def hand_back(self, region: str) -> dict[str, Any]:
        return undone(self.service.take_over(region))

    def stand_by(self, region: str) -> dict[str, Any]:
        return self.service.stand_by(region).run()

    def reclaim(self, region: str) -> dict[str, Any]:
        return undone(self.service.stand_by(region))

    def components(self) -> dict[str, dict[str, Any]]:
        alive = self.stack.pids()
        self.seen.update(alive)
        return {name: {"pid": pid, "alive": name in alive} for name, pid in self.seen.items()}


def undone(operation: Operation) -> dict[str, Any]:
    """The operation's revert run, if it has one."""
    if operation.revert is not None:
        operation.revert()
    return {"reverted": operation.revert is not None, "target": operation.target}


def live_endpoints(env: LocalEnvironment) -> dict[str, Any]:
    """The endpoints a live profile names (see the brief's `live.endpoints`), as they are."""
    stack = env.stack
    database = env.capability("database")
    cache = env.capability("cache")
    storage = env.capability("storage")
    # the primary region's zones and the standby region's node: the nodes of the pair
    nodes = list(stack.settings.zones)
    if stack.standby is not None:
        nodes.append(stack.standby.region)
    return {
        "service": stack.url,
        "postgres": {node: stack.pg.node(node).admin_app_dsn for node in nodes},
        "postgres_app": {node: database.instance(node).app_dsn for node in nodes},
        "primary_zone": database.primary_zone,
        "redis": {node: cache.url(node) for node in ("primary", "replica")},
        "toxiproxy": stack.toxiproxy.base_url,
        "s3": {
            store.region: {
                "endpoint": store.endpoint_url,
                "access_key_id": store.access_key,
                "secret_access_key": store.secret_key,
            }
            for store in stack.storage.stores
        },
        # the replicas are the Ready endpoints of the Service, which a rollout replaces
        "kubernetes": {
            "kubeconfig": str(stack.kube.kubeconfig),
            "context": KUBE_CONTEXT,
            "service": {"namespace": NAMESPACE, "name": SERVICE_NAME},
        },
        "regions": live_regions(stack),
        "aws": {
            "region": storage.primary_region,
            "endpoint_url": stack.aws.endpoint_url,
            "metrics_namespace": METRICS_NAMESPACE,
        },
        "monitoring": {
            "prometheus": stack.monitoring.prometheus.url,
            "alert_receiver": stack.monitoring.receiver.url,
            "scrape_interval_s": SCRAPE_INTERVAL_S,
        },
        "storage": {
            "primary_region": storage.primary_region,
            "dr_region": storage.dr_region,
            "replication_link": storage.replication_link(storage.dr_region),
            "exports_bucket": EXPORTS_BUCKET,
        },
    }


def live_regions(stack: LocalStack) -> dict[str, Any]:
    """Each region's links and the kubeconfig of its cluster."""
    clusters = {stack.storage.primary.region: stack.kube}
    if stack.standby is not None:
        clusters[stack.standby.region] = stack.standby.kube
    return {
        region: {
            "links": links,
            "kubernetes": {
                "kubeconfig": str(clusters[region].kubeconfig),
                "context": clusters[region].context,
            },
        }
        for region, links in stack.region_links().items()
    }


class Daemon:
    """Answers requests: `ping`, `status`, and the runbook's actions one at a time, each
    bounded by its spec's timeout."""

    def __init__(self, stack: StackDir, env: LocalEnvironment, profile: Profile) -> None:
        self.stack = stack
        self.runbook = Runbook(env)
        self.endpoints = live_endpoints(env)
        self.profile = profile
        self.started_at = time.time()
        self._lock = threading.Lock()
        self._running: tuple[str, float] | None = None

    def state(self) -> dict[str, Any]:
        """What `up` writes the live profile from."""
        profile = self.profile
        return {
            "daemon_pid": os.getpid(),
            "dir": str(self.stack.path),
            "run_dir": str(self.stack.run_dir),
            "started_at": self.started_at,
            "profile": {
                "name": profile.name,
                "path": str(profile.path),
                "owners": profile.owners,
                "workload": profile.workload,
                "timeouts": profile.timeouts,
            },
            "endpoints": self.endpoints,
        }

    def answer(self, message: dict[str, Any]) -> dict[str, Any]:
        """{"ok": true, "result": ...} or {"ok": false, "error": ...}; never raises."""
        action = message.get("action")
        try:
            return {"ok": True, "result": self._dispatch(action, message.get("args") or {})}
        except Exception as exc:  # the client is told; the daemon keeps serving
            # A KeyError's text is its key's repr: the message itself reads better.
            text = exc.args[0] if isinstance(exc, KeyError) and exc.args else exc
            return {"ok": False, "error": f"{type(exc).__name__}: {text}"}

    def _dispatch(self, action: Any, args: dict[str, Any]) -> Any:
        if action == "ping":
            return {"pid": os.getpid()}
        if action == "status":
            return self.status()
        if action not in ACTIONS:
            known = ", ".join(sorted(ACTIONS))
            raise LookupError(f"unknown action {action!r} (known: {known})")
        spec = ACTIONS[action]
        return self._run(spec, spec.parse_args(args))

    def _run(self, spec: ActionSpec, args: dict[str, Any]) -> Any:
        """In a thread of its own, holding the lock until it ends even when its caller gave up
        waiting: the stack never runs two actions at once."""
        if not self._lock.acquire(timeout=BUSY_WAIT_S):
            raise ControlError(f"the stack is busy: {self.busy()}")
        self._running = (spec.name, time.monotonic())
        outcome: dict[str, Any] = {}

        def work() -> None:
            try:
                outcome["result"] = self.runbook.method(spec)(**args)
            except Exception as exc:  # raised in the caller's thread below
                outcome["error"] = exc
            finally:
                self._running = None
                self._lock.release()

        thread = threading.Thread(target=work, name=spec.name, daemon=True)
        thread.start()
        thread.join(spec.timeout_s)
        if thread.is_alive():
            raise TimeoutError(
                f"did not finish within {spec.timeout_s:g} s; it goes on in the daemon, "
                "which takes no other action until it ends"
            )
        if "error" in outcome:
            raise outcome["error"]
        return outcome["result"]

    def busy(self) -> str:
        running = self._running
        if running is None:
            return "idle"
        name, since = running
        return f"{name} running for {time.monotonic() - since:.0f} s"

    def wait_idle(self, timeout_s: float) -> bool:
        """True once no action runs (the stack may then be stopped), False after timeout_s."""
        if not self._lock.acquire(timeout=timeout_s):
            return False
        self._lock.release()
        return True

    def status(self) -> dict[str, Any]:
        return {
            "daemon": {
                "pid": os.getpid(),
                "dir": str(self.stack.path),
                "run_dir": str(self.stack.run_dir),
                "up_for_s": round(time.time() - self.started_at, 1),
                "action": self.busy(),
            },
            "components": self.runbook.components(),
            "restored": sorted(self.runbook.restored),
            "endpoints": redact_obj(self.endpoints),
        }


class _Handler(socketserver.StreamRequestHandler):
    server: ControlServer

    def handle(self) -> None:
        self.connection.settimeout(READ_TIMEOUT_S)
        try:
            message = receive(self.connection)
        except (ControlError, OSError) as exc:
            answer = {"ok": False, "error": f"bad request: {exc}"}
        else:
            answer = self.server.daemon.answer(message)
        send(self.connection, answer)


class ControlServer(socketserver.ThreadingUnixStreamServer):
    """The control socket: a thread per connection, so ping and status answer while an action
    runs."""

    daemon_threads = True

    def __init__(self, path: Path, daemon: Daemon) -> None:
        path.unlink(missing_ok=True)
        self.daemon = daemon
        super().__init__(str(path), _Handler)
        path.chmod(0o600)


class _StopSignals:
    """SIGTERM and SIGINT ask the daemon to stop. While the stack starts they are only
    remembered: the start is bounded by the profile's ready timeouts, and a stack stopped
    half-way through its start is what LocalStack.start already cleans up after an error."""

    def __init__(self) -> None:
        self.requested = threading.Event()
        for sig in (signal.SIGTERM, signal.SIGINT):
            signal.signal(sig, self._on_signal)

    def _on_signal(self, signum: int, _frame: object) -> None:
        say(f"{signal.Signals(signum).name} received: stopping")
        self.requested.set()


def say(line: str) -> None:
    """A line of the daemon's log (its stdout, DIR/daemon.log), timestamped."""
    print(f"{time.strftime('%Y-%m-%d %H:%M:%S')} {line}", flush=True)


def serve(stack: StackDir, env_name: str) -> int:
    """Run the daemon in this process until asked to stop; the process's exit status."""
    signals = _StopSignals()
    try:
        write_private(stack.pid_file, f"{os.getpid()}\n", exclusive=True)
    except FileExistsError:
        say(
            f"{stack.pid_file} exists: a daemon runs in {stack.path}, or one was killed; "
            f"`python -m drillbook.stack down --dir {stack.path}` clears it"
        )
        return 1
    try:
        _run_stack(stack, env_name, signals)
        return 0
    except Exception:  # the daemon's log is what `up` shows when it dies
        traceback.print_exc()
        return 1
    finally:
        for path in (stack.socket, stack.state_file, stack.pid_file):
            path.unlink(missing_ok=True)
        say("daemon exits")


def _run_stack(stack: StackDir, env_name: str, signals: _StopSignals) -> None:
    profile = load_profile(profile_path(env_name, ENVIRONMENTS))
    if profile.kind != "local":
        raise ValueError(f"profile {profile.path} is of kind {profile.kind}, not local")
    if len(str(stack.socket)) > MAX_SOCKET_PATH:
        raise ValueError(
            f"control socket path {stack.socket} is longer than {MAX_SOCKET_PATH} bytes; "
            "choose a shorter --dir"
        )
    if stack.run_dir.exists():
        raise FileExistsError(
            f"{stack.run_dir} exists: a stack that was not stopped is there; "
            f"`python -m drillbook.stack down --dir {stack.path}` stops it"
        )
    env = LocalEnvironment(profile, stack.run_dir, say)
    env.start()  # stops what it started if it fails
    try:
        if not signals.requested.is_set():  # no stop asked for while it started
            _serve_until_stopped(stack, Daemon(stack, env, profile), signals)
    finally:
        env.stop()
    shutil.rmtree(stack.run_dir, ignore_errors=True)


def _serve_until_stopped(stack: StackDir, daemon: Daemon, signals: _StopSignals) -> None:
    with ControlServer(stack.socket, daemon) as server:
        write_private(stack.state_file, json.dumps(daemon.state(), indent=2))
        thread = threading.Thread(target=server.serve_forever, args=(0.2,), daemon=True)
        thread.start()
        say(f"ready: control socket {stack.socket}, daemon pid {os.getpid()}")
        while not signals.requested.wait(1.0):
            pass
        server.shutdown()
    if not daemon.wait_idle(STOP_WAIT_S):
        say(f"stopping the stack anyway after {STOP_WAIT_S:g} s: {daemon.busy()}")
