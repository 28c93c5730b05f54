"""Redis for the local stack: a primary with AOF and scheduled RDB snapshots, and a replica.

Both nodes share one password, so a promoted replica is used with the same credentials.
"""

from __future__ import annotations

import secrets
import shutil
import time
from collections.abc import Callable
from pathlib import Path

import redis

from drillbook.commands import CommandLog
from drillbook.stack.process import LocalProcess, ManagedProcess

# Plan section 3.1 snapshots every 6 h; locally every few seconds, when anything changed.
RDB_SAVE = "5 1"


class RedisNode(LocalProcess):
    def __init__(
        self,
        name: str,
        *,
        server: str,
        port: int,
        data_dir: Path,
        log_path: Path,
        ready_timeout_s: float,
        password: str,
        commands: CommandLog,
        replica_of: RedisNode | None = None,
    ) -> None:
        self.name = name
        self.port = port
        self.data_dir = data_dir
        self.log_path = log_path
        self.ready_timeout_s = ready_timeout_s
        self.password = password
        self.commands = commands
        self.proxy_port: int | None = None
        options = {
            "bind": "127.0.0.1",
            "port": str(port),
            "dir": str(data_dir),
            "requirepass": self.password,
            "masterauth": self.password,
            "appendonly": "yes",
            "appendfsync": "everysec",
            # A replica's full sync otherwise waits 5 s for more replicas to join.
            "repl-diskless-sync-delay": "0",
            "save": RDB_SAVE,
            "daemonize": "no",
            "logfile": "",
        }
        if replica_of is not None:
            options["replicaof"] = f"127.0.0.1 {replica_of.port}"
        argv = [server]
        for key, value in options.items():
            argv += [f"--{key}", value]
        self._process = ManagedProcess(name, argv, log_path, cwd=data_dir)

    @property
    def direct_url(self) -> str:
        return f"redis://:{self.password}@127.0.0.1:{self.port}/0"

    @property
    def url(self) -> str:
        """Through the node's Toxiproxy proxy (direct if it has none)."""
        return f"redis://:{self.password}@127.0.0.1:{self.proxy_port or self.port}/0"

    def client(self, timeout_s: float = 1.0) -> redis.Redis:
        """A direct client with socket timeouts."""
        return redis.Redis.from_url(
            self.direct_url, socket_timeout=timeout_s, socket_connect_timeout=timeout_s
        )

    def start(self) -> float:
        """Start and wait until it accepts commands (after loading its AOF); the seconds that
        took."""
        started = time.monotonic()
        self.spawn()
        self.wait_ready()
        return time.monotonic() - started

    def spawn(self) -> None:
        """Start the process without waiting, so other components can start meanwhile."""
        self.data_dir.mkdir(parents=True, exist_ok=True)
        self._process.start()

    def wait_ready(self) -> None:
        """Ready once its data is loaded: until then a node answers LOADING to most commands."""

        def loaded() -> None:
            if self.info("persistence")["loading"]:
                raise RuntimeError(f"{self.name} is still loading its data")

        self.wait_until(loaded)

    def wait_until(self, check: Callable[[], object], timeout_s: float | None = None) -> None:
        """Poll `check` (raises while not satisfied) with this node's deadline and log."""
        self._process.wait_ready(check, self.ready_timeout_s if timeout_s is None else timeout_s)

    def kill9(self) -> None:
        """SIGKILL, like a crashed host: what the AOF had not written yet is gone."""
        pid = self.pid()
        self._process.kill()
        self.commands.add(f"kill -9 {pid}  # {self.name}", "")

    def wipe(self) -> None:
        """Delete the AOF and the RDB snapshot of a stopped node: it restarts empty."""
        if self.running:
            raise RuntimeError(f"{self.name} is running: stop it before deleting its data")
        found = sorted(path.name for path in self.data_dir.iterdir())
        shutil.rmtree(self.data_dir / "appendonlydir", ignore_errors=True)
        (self.data_dir / "dump.rdb").unlink(missing_ok=True)
        self.commands.add(
            f"rm -rf {self.data_dir}/appendonlydir {self.data_dir}/dump.rdb  # {self.name}",
            f"data directory held: {', '.join(found) or 'nothing'}",
        )

    def info(self, section: str) -> dict:
        with self.client() as client:
            return client.info(section)

    def role(self) -> str:
        return self.info("replication")["role"]

    def promote(self) -> None:
        """REPLICAOF NO ONE: the node stops following and accepts writes."""
        with self.client() as client:
            answer = client.replicaof("NO", "ONE")
        self.commands.add(f"redis-cli -p {self.port} REPLICAOF NO ONE  # {self.name}", str(answer))

    def follow(self, primary: RedisNode) -> None:
        """REPLICAOF the primary, then wait until it holds everything the primary had."""
        with self.client() as client:
            answer = client.replicaof("127.0.0.1", primary.port)
        self.commands.add(
            f"redis-cli -p {self.port} REPLICAOF 127.0.0.1 {primary.port}  "
            f"# {self.name} follows {primary.name}",
            str(answer),
        )
        self.wait_synced(primary)

    def follows(self, primary: RedisNode) -> bool:
        """Whether this node replicates from `primary` over a link that is up."""
        replication = self.info("replication")
        return (
            replication["role"] == "slave"
            and replication.get("master_port") == primary.port
            and replication.get("master_link_status") == "up"
        )

    def wait_synced(self, primary: RedisNode) -> None:
        """Wait until the link to `primary` is up and has carried what it had written when
        this was called (its replication offset)."""
        target = primary.info("replication")["master_repl_offset"]

        def synced() -> None:
            replication = self.info("replication")
            if not self.follows(primary) or replication.get("master_sync_in_progress"):
                raise RuntimeError(f"{self.name} not in sync with {primary.name}: {replication}")
            if replication["slave_repl_offset"] < target:
                raise RuntimeError(
                    f"{self.name} at offset {replication['slave_repl_offset']}, "
                    f"{primary.name} wrote up to {target}"
                )

        self.wait_until(synced)


class RedisPair:
    """The primary "redis" and the replica "redis-replica" that follows it.

    Node names are their proxies' names. A drill may kill, wipe or cut the primary and promote
    the replica; `restore_topology` brings the pair back without losing what the promoted
    replica took meanwhile.
    """

    def __init__(
        self,
        *,
        server: str,
        ports: tuple[int, int],
        root: Path,
        logs: Path,
        ready_timeout_s: float,
        commands: CommandLog,
    ) -> None:
        self.commands = commands
        password = secrets.token_urlsafe(16)
        common = {"server": server, "ready_timeout_s": ready_timeout_s, "password": password}
        self.primary = RedisNode(
            "redis",
            port=ports[0],
            data_dir=root / "redis",
            log_path=logs / "redis.log",
            commands=self.commands,
            **common,
        )
        self.replica = RedisNode(
            "redis-replica",
            port=ports[1],
            data_dir=root / "redis-replica",
            log_path=logs / "redis-replica.log",
            commands=self.commands,
            replica_of=self.primary,
            **common,
        )

    @property
    def nodes(self) -> tuple[RedisNode, RedisNode]:
        return self.primary, self.replica

    def spawn(self) -> None:
        for node in self.nodes:
            node.spawn()

    def wait_ready(self) -> None:
        for node in self.nodes:
            node.wait_ready()

    def wait_replica_synced(self) -> None:
        self.replica.wait_synced(self.primary)

    def stop(self) -> None:
        for node in reversed(self.nodes):
            node.stop()

    def restore_topology(self) -> None:
        """Primary up and writable, the replica following it.

        A promoted replica holds the newest data: the primary first follows it and catches up,
        then takes the primary's role back and the replica follows it again. What clients
        write to the replica in the moment between the primary's promotion and their switch
        back (heal_redis) is dropped by the replica's resync: cache entries, which refill, and
        quota increments, which the compensation job recomputes from PostgreSQL.
        """
        primary, replica = self.nodes
        if not primary.running:
            primary.start()
        if not replica.running:
            replica.start()
        if replica.role() == "master" and primary.role() == "master":
            primary.follow(replica)
        if primary.role() != "master":
            primary.promote()
        if not replica.follows(primary):
            replica.follow(primary)
        replica.wait_synced(primary)
