"""PostgreSQL 15 nodes for the local stack: primary az-a, streaming standby az-b, WAL archive,
a base backup for point-in-time recovery.

PostgreSQL refuses to run as root, so its binaries run through `runuser -u postgres` and every
directory they write is owned by postgres.
"""

from __future__ import annotations

import os
import pwd
import re
import shutil
import signal
import time
from collections.abc import Callable, Mapping, Sequence
from datetime import datetime
from pathlib import Path
from typing import Any

import psycopg
from psycopg import sql

from drillbook.commands import CommandLog
from drillbook.private_files import write_private
from drillbook.stack.ports import free_port
from drillbook.stack.process import LocalProcess, ManagedProcess, pid_alive, run_command
from drillbook.toxiproxy import ToxiproxyClient

PG_USER = "postgres"
APP_USER = "glancy"
APP_DB = "glancy"
COMMAND_TIMEOUT_S = 60.0
QUERY_TIMEOUT_S = 5.0
STOP_SIGNALS = {"smart": signal.SIGTERM, "fast": signal.SIGINT, "immediate": signal.SIGQUIT}

PG_HBA = """\
local all all trust
host replication all 127.0.0.1/32 trust
host all postgres 127.0.0.1/32 trust
host all all 127.0.0.1/32 scram-sha-256
"""


def _chown_to_postgres(path: Path) -> None:
    entry = pwd.getpwnam(PG_USER)
    os.chown(path, entry.pw_uid, entry.pw_gid)


def _postgres_dir(path: Path, mode: int = 0o700) -> Path:
    path.mkdir(parents=True, exist_ok=True)
    path.chmod(mode)
    _chown_to_postgres(path)
    return path


def _write_postgres_file(path: Path, text: str) -> None:
    write_private(path, text)
    _chown_to_postgres(path)


def recovery_log(log_path: Path) -> str:
    """What PostgreSQL said about recovery: the WAL it restored, where and why it stopped."""
    words = ("recovery", "restored log file", "consistent", "selected new timeline")
    lines = log_path.read_text(errors="replace").splitlines()
    return "\n".join(line for line in lines if any(word in line for word in words))


class PgNode(LocalProcess):
    """One PostgreSQL instance, run in the foreground under a ManagedProcess."""

    def __init__(
        self,
        name: str,
        *,
        root: Path,
        port: int,
        bin_dir: Path,
        socket_dir: Path,
        log_path: Path,
        app_password: str,
        ready_timeout_s: float,
        commands: CommandLog,
        options: Mapping[str, str] | None = None,
    ) -> None:
        self.name = name
        self.commands = commands
        self.root = root
        self.data_dir = root / "data"
        self.port = port
        self.bin_dir = bin_dir
        self.log_path = log_path
        self.app_password = app_password
        self.ready_timeout_s = ready_timeout_s
        self.proxy_port: int | None = None
        settings = {
            "listen_addresses": "127.0.0.1",
            "unix_socket_directories": str(socket_dir),
            "cluster_name": name,
            **(options or {}),
        }
        argv = [str(bin_dir / "postgres"), "-D", str(self.data_dir), "-p", str(port)]
        for key, value in settings.items():
            argv += ["-c", f"{key}={value}"]
        self._process = ManagedProcess(f"postgres {name}", argv, log_path, user=PG_USER, cwd=root)

    @property
    def admin_dsn(self) -> str:
        """Superuser, over TCP, straight to the instance."""
        return self._admin_dsn("postgres")

    @property
    def admin_app_dsn(self) -> str:
        """Superuser, straight to the instance, in the service's database (what a team's
        DBA account reaches: the live profile's `postgres` DSNs)."""
        return self._admin_dsn(APP_DB)

    def _admin_dsn(self, dbname: str) -> str:
        return f"postgresql://{PG_USER}@127.0.0.1:{self.port}/{dbname}?connect_timeout=2"

    @property
    def direct_app_dsn(self) -> str:
        return self._app_dsn(self.port)

    @property
    def app_dsn(self) -> str:
        """The application role through this node's Toxiproxy proxy (direct if it has none)."""
        return self._app_dsn(self.proxy_port or self.port)

    def _app_dsn(self, port: int) -> str:
        return (
            f"postgresql://{APP_USER}:{self.app_password}@127.0.0.1:{port}/{APP_DB}"
            "?connect_timeout=2"
        )

    def pid(self) -> int | None:
        """The postmaster's pid from postmaster.pid (runuser stands between us and it), None
        when it is not running."""
        try:
            pid = int((self.data_dir / "postmaster.pid").read_text().split("\n", 1)[0])
        except (OSError, ValueError):
            return None
        return pid if pid_alive(pid) else None

    def run_tool(self, tool: str, *args: str) -> str:
        """Run a PostgreSQL client program (initdb, pg_basebackup...) as postgres."""
        return run_command(
            [str(self.bin_dir / tool), *args],
            user=PG_USER,
            cwd=self.root,
            timeout_s=COMMAND_TIMEOUT_S,
            log=self.commands,
        )

    def start(self) -> None:
        self._process.start()
        self.wait_until(lambda: self.query("SELECT 1"))

    def stop(self, mode: str = "fast") -> None:
        self._process.stop(STOP_SIGNALS[mode], timeout_s=self.ready_timeout_s)

    def kill9(self) -> None:
        """SIGKILL the postmaster and all its workers at once, like a crashed host."""
        pid = self.pid()
        self._process.kill()
        self.commands.add(f"kill -9 {pid}  # postgres {self.name} postmaster and workers", "")

    def destroy(self) -> None:
        self.stop("immediate")
        shutil.rmtree(self.root, ignore_errors=True)

    def wait_until(self, check: Callable[[], object], timeout_s: float | None = None) -> None:
        """Poll `check` (raises while not satisfied) with this node's deadline and log."""
        self._process.wait_ready(check, self.ready_timeout_s if timeout_s is None else timeout_s)

    def is_in_recovery(self) -> bool:
        return bool(self.query("SELECT pg_is_in_recovery()")[0][0])

    def wal_receiver_pid(self) -> int | None:
        """The pid of this standby's WAL receiver, None when it has none (not a standby, or not
        streaming). Stopping it (SIGSTOP) stalls replication while the standby still answers."""
        rows = self.query("SELECT pid FROM pg_stat_wal_receiver")
        return rows[0][0] if rows and rows[0][0] is not None else None

    def wait_writable(self, timeout_s: float | None = None) -> None:
        def writable() -> None:
            if self.is_in_recovery():
                raise RuntimeError(f"{self.name} is still in recovery")

        self.wait_until(writable, timeout_s)

    def promote(self, timeout: float = 30.0) -> None:
        self.query("SELECT pg_promote(false)")
        self.wait_writable(timeout)
        self.commands.add(f"psql {self.name} -c 'SELECT pg_promote(false)'", "promoted: writable")

    def query(
        self,
        statement: str | sql.Composable,
        params: Sequence[Any] | None = None,
        *,
        dbname: str = "postgres",
    ) -> list[tuple]:
        """Run one statement as superuser, directly, autocommit, with connect/statement timeouts."""
        with psycopg.connect(
            self.admin_dsn,
            dbname=dbname,
            autocommit=True,
            options=f"-c statement_timeout={int(QUERY_TIMEOUT_S * 1000)}",
        ) as conn:
            cursor = conn.execute(statement, params)
            return cursor.fetchall() if cursor.description else []


# The pair's zones: the primary and its standby. Another region's node (add_node) is neither.
PAIR = ("az-a", "az-b")
# Written into the WAL archive after each new segment: the name of the last one archived. It
# is shipped with the archive to s3://<backups>/pg/ (runbook 5.2 step 5's last-lsn.txt).
LAST_ARCHIVED = "last-lsn.txt"
# az-b streams from az-a across this link once the proxies exist: latency on it is replication
# lag (runbook 5.1's trigger), a cut of it a stalled stream.
REPLICATION_LINK = "pg-replication-az-b"


class PostgresPair:
    """Primary az-a with WAL archiving, streaming standby az-b, base backup for PITR."""

    def __init__(
        self,
        root: Path,
        log_dir: Path,
        *,
        bin_dir: Path,
        ready_timeout_s: float,
        archive_timeout_s: int,
        app_password: str,
        progress: Callable[[str], None],
    ) -> None:
        self.root = root
        self.commands = CommandLog()
        self.log_dir = log_dir
        self.bin_dir = bin_dir
        self.ready_timeout_s = ready_timeout_s
        self.archive_timeout_s = archive_timeout_s
        self.app_password = app_password
        self.progress = progress
        self.archive_dir = root / "archive"
        self.base_backup_dir = root / "backups" / "base"
        self.toxiproxy: ToxiproxyClient | None = None
        self.nodes = {name: self._new_node(name, free_port()) for name in PAIR}
        for node in self.nodes.values():
            node.proxy_port = free_port()
        self.replication_port = free_port()
        self.restored: list[PgNode] = []

    def _new_node(self, name: str, port: int, options: Mapping[str, str] | None = None) -> PgNode:
        return PgNode(
            name,
            root=self.root / name,
            port=port,
            bin_dir=self.bin_dir,
            socket_dir=self.root,
            log_path=self.log_dir / f"postgres-{name}.log",
            app_password=self.app_password,
            ready_timeout_s=self.ready_timeout_s,
            commands=self.commands,
            options=options,
        )

    def node(self, name: str) -> PgNode:
        try:
            return self.nodes[name]
        except KeyError:
            raise KeyError(f"no PostgreSQL node {name!r}; nodes are {sorted(self.nodes)}") from None

    @property
    def primary(self) -> PgNode:
        """The node of the pair that runs and accepts writes."""
        for node in map(self.node, PAIR):
            if node.running and not node.is_in_recovery():
                return node
        raise RuntimeError(f"no running PostgreSQL primary among {list(PAIR)}")

    @property
    def standby(self) -> PgNode:
        for node in map(self.node, PAIR):
            if node.running and node.is_in_recovery():
                return node
        raise RuntimeError(f"no running PostgreSQL standby among {list(PAIR)}")

    def start(self, schema_path: Path | None) -> None:
        self.start_primary(schema_path)
        self.start_standby()

    def start_primary(self, schema_path: Path | None) -> None:
        """az-a with archiving, the application role and database, the schema if given."""
        _postgres_dir(self.root, 0o755)
        _postgres_dir(self.archive_dir)
        _postgres_dir(self.base_backup_dir.parent)
        primary = self.node("az-a")
        self._init_primary(primary)
        self.progress(f"postgres az-a up on {primary.address}")
        self._create_app_database(primary, schema_path)

    def start_standby(self) -> None:
        """The base backup for PITR, then az-b streaming from az-a."""
        primary, standby = self.node("az-a"), self.node("az-b")
        primary.run_tool("pg_basebackup", *self._basebackup_args(primary, self.base_backup_dir))
        self.progress(f"base backup in {self.base_backup_dir}")
        self.progress(f"base backup archived in {self._archive_base_backup()}")
        self._start_standby(standby, primary)
        self.progress(f"postgres az-b streaming from az-a on {standby.address}")

    def stop(self) -> None:
        """Stop every node (restored copies first), trying all before reporting failures."""
        failures = []
        for node in [*self.restored, *reversed(self.nodes.values())]:
            try:
                node.stop("fast")
            except Exception as exc:  # keep stopping the rest
                failures.append(f"{node.name}: {type(exc).__name__}: {exc}")
        if failures:
            raise RuntimeError(f"PostgreSQL nodes did not stop: {failures}")

    def attach_toxiproxy(self, client: ToxiproxyClient) -> None:
        """Create the proxy `pg-<node>` in front of every node, on its `proxy_port`, and the
        replication link from az-a to az-b on `replication_port`."""
        self.toxiproxy = client
        for name, node in self.nodes.items():
            client.create_proxy(self.proxy_name(name), f"127.0.0.1:{node.proxy_port}", node.address)
        listen = f"127.0.0.1:{self.replication_port}"
        client.create_proxy(REPLICATION_LINK, listen, self.node("az-a").address)

    @staticmethod
    def proxy_name(node_name: str) -> str:
        return f"pg-{node_name}"

    def _init_primary(self, node: PgNode) -> None:
        _postgres_dir(node.root)
        node.run_tool(
            "initdb",
            f"--pgdata={node.data_dir}",
            f"--username={PG_USER}",
            "--encoding=UTF8",
            "--locale=C",
            "--auth=trust",
            "--no-sync",
            # 1 MB segments: a forced switch archives 1 MB instead of 16.
            "--wal-segsize=1",
        )
        _write_postgres_file(node.data_dir / "pg_hba.conf", PG_HBA)
        with open(node.data_dir / "postgresql.conf", "a") as conf:
            conf.write(self._primary_conf())
        node.start()

    def _primary_conf(self) -> str:
        archive = self.archive_dir
        # Copy then rename, so a crash mid-copy leaves no partial segment that blocks archiving;
        # `|| cmp -s`: a promoted standby re-archives a segment the archive already holds. A new
        # segment's name (not a .history, .backup or .partial file's) goes to LAST_ARCHIVED (its
        # end is the archive's last LSN), the same way; should that write fail, `cmp` finds the
        # segment archived and the marker is only stale.
        last = f"{archive}/{LAST_ARCHIVED}"
        archive_command = (
            f"test ! -f {archive}/%f"
            f" && cp %p {archive}/%f.part && mv {archive}/%f.part {archive}/%f"
            f" && {{ case %f in *.*) ;;"
            f" *) echo %f > {last}.part && mv {last}.part {last};; esac; }}"
            f" || cmp -s %p {archive}/%f"
        )
        settings = {
            "wal_level": "replica",
            "archive_mode": "on",
            "archive_command": archive_command,
            "archive_timeout": str(self.archive_timeout_s),
            "track_commit_timestamp": "on",
            "max_wal_senders": "10",
            "wal_keep_size": "64MB",
            "hot_standby": "on",
            "log_line_prefix": "%m [%p] %q%u@%d ",
        }
        lines = [f"{key} = '{value}'" for key, value in settings.items()]
        return "\n# drillbook local stack\n" + "\n".join(lines) + "\n"

    def _create_app_database(self, primary: PgNode, schema_path: Path | None) -> None:
        primary.query(
            sql.SQL("CREATE ROLE {} LOGIN PASSWORD {}").format(
                sql.Identifier(APP_USER), sql.Literal(self.app_password)
            )
        )
        primary.query(
            sql.SQL("CREATE DATABASE {} OWNER {}").format(
                sql.Identifier(APP_DB), sql.Identifier(APP_USER)
            )
        )
        if schema_path is None or not schema_path.is_file():
            self.progress(f"no schema applied: {schema_path} does not exist")
            return
        with psycopg.connect(primary.direct_app_dsn, autocommit=True) as conn:
            conn.execute(schema_path.read_text())
        self.progress(f"schema {schema_path.name} applied as {APP_USER}")

    def _archive_base_backup(self) -> Path:
        """The base backup as the plan lands it (seed 3.1: /data/dr/pg/%Y%m%d%H, synced with the
        WAL to s3://…/pg/): the data directory as a gzipped tar beside its manifest, each
        renamed into place once written (the shipper leaves `*.part` out), the manifest last,
        so that a folder with a manifest holds a complete backup."""
        folder = self.archive_dir / time.strftime("%Y%m%d%H", time.gmtime())
        folder.mkdir(exist_ok=True)
        tarball = folder / "base.tar.gz"
        run_command(
            ["tar", "--use-compress-program=gzip -1", "-cf", f"{tarball}.part",
             "-C", str(self.base_backup_dir), "."],
            timeout_s=COMMAND_TIMEOUT_S,
        )  # fmt: skip
        Path(f"{tarball}.part").rename(tarball)
        manifest = folder / "backup_manifest"
        shutil.copyfile(self.base_backup_dir / "backup_manifest", f"{manifest}.part")
        Path(f"{manifest}.part").rename(manifest)
        return folder

    @staticmethod
    def _basebackup_args(source: PgNode, target: Path, *extra: str) -> list[str]:
        return [
            "--host=127.0.0.1",
            f"--port={source.port}",
            f"--username={PG_USER}",
            f"--pgdata={target}",
            "--wal-method=stream",
            "--checkpoint=fast",
            "--no-sync",
            *extra,
        ]

    def add_node(self, name: str) -> PgNode:
        """One more node, not started (start_cascade starts it): another region's standby.
        Made before attach_toxiproxy, it gets its proxy like the others. It never archives:
        once promoted, its timeline must not reach the pair's archive, which a PITR reads."""
        node = self._new_node(name, free_port(), {"archive_mode": "off"})
        node.proxy_port = free_port()
        self.nodes[name] = node
        return node

    def start_cascade(
        self, standby: PgNode, source: PgNode, via_port: int | None, *, wait: bool = True
    ) -> None:
        """(Re)seed `standby` from `source` (a standby itself: a cascade), to stream from it
        through the proxy on `via_port` (None: straight); `wait`: until it streams. The base
        backup is taken straight from `source`, so a standby is re-seeded while that link is
        cut too."""
        self._reseed(standby, source)
        if via_port is not None:
            self._stream_via(standby, source, via_port)
        standby.start()
        if wait:
            standby.wait_until(self._streaming(standby, source))

    def rebuild_from(self, source: PgNode, via_port: int) -> None:
        """The pair a warm standby of `source` (another region's node that took over): az-a
        re-seeded from it, streaming across the link on `via_port`, and az-b from az-a."""
        az_a, az_b = self.node("az-a"), self.node("az-b")
        self.start_cascade(az_a, source, via_port)
        self._start_standby(az_b, az_a)

    def _start_standby(self, standby: PgNode, primary: PgNode) -> None:
        """(Re)seed `standby` from `primary` with pg_basebackup -R and wait until it streams:
        az-b from az-a across the replication link once it exists, any other pair straight."""
        linked = self.toxiproxy is not None and (standby.name, primary.name) == ("az-b", "az-a")
        self.start_cascade(standby, primary, self.replication_port if linked else None)

    @staticmethod
    def _stream_via(standby: PgNode, source: PgNode, via_port: int) -> None:
        """pg_basebackup -R names the port it took the backup from; the stream goes by the link
        listening on `via_port`."""
        auto_conf = standby.data_dir / "postgresql.auto.conf"
        text, found = re.subn(rf"\bport={source.port}\b", f"port={via_port}", auto_conf.read_text())
        if found != 1:
            raise RuntimeError(f"{auto_conf}: no single port={source.port} in primary_conninfo")
        _write_postgres_file(auto_conf, text)

    def _reseed(self, standby: PgNode, source: PgNode) -> None:
        """`standby` stopped, its data replaced by a base backup of `source` with the recovery
        configuration that makes it `source`'s standby."""
        standby.stop("immediate")
        shutil.rmtree(standby.data_dir, ignore_errors=True)
        _postgres_dir(standby.root)
        source.run_tool(
            "pg_basebackup",
            *self._basebackup_args(source, standby.data_dir, "--write-recovery-conf"),
        )

    @staticmethod
    def _streaming(standby: PgNode, source: PgNode) -> Callable[[], None]:
        def streaming() -> None:
            rows = source.query(
                "SELECT state FROM pg_stat_replication WHERE application_name = %s",
                [standby.name],
            )
            if not rows or rows[0][0] != "streaming":
                raise RuntimeError(f"{standby.name} not streaming from {source.name}: {rows}")

        return streaming

    def restore_pitr(self, target_time: datetime, name: str) -> PgNode:
        """A new instance from the base backup and the WAL archive, recovered to `target_time`
        and promoted. It does not archive (its new timeline must not reach the shared archive).
        """
        if target_time.tzinfo is None:
            raise ValueError(f"restore_pitr needs a timezone-aware target time, got {target_time}")
        self.restored = [node for node in self.restored if node.root.exists()]  # not destroyed
        if name in self.nodes or any(node.name == name for node in self.restored):
            raise ValueError(f"a PostgreSQL node named {name!r} already exists")
        self._archive_current_wal()
        node = self._new_node(
            name,
            free_port(),
            {
                "archive_mode": "off",
                "restore_command": f"cp {self.archive_dir}/%f %p",
                "recovery_target_time": target_time.isoformat(sep=" "),
                "recovery_target_action": "promote",
            },
        )
        _postgres_dir(node.root)
        run_command(
            ["cp", "-a", str(self.base_backup_dir), str(node.data_dir)],
            user=PG_USER,
            timeout_s=COMMAND_TIMEOUT_S,
            log=self.commands,
        )
        _write_postgres_file(node.data_dir / "recovery.signal", "")
        self.restored.append(node)
        node.start()
        node.wait_writable()
        self.commands.add(
            f"postgres {name} (base backup + WAL archive) -c recovery_target_time='{target_time}'"
            " -c recovery_target_action=promote",
            recovery_log(node.log_path),
        )
        self.progress(f"PITR instance {name} on {node.address} recovered to {target_time}")
        return node

    def renew_base_backup(self) -> None:
        """A new base backup of the primary in place of the old one. After a failback the
        archive lacks what the other region wrote on its own timeline, so recovery from the old
        backup stops at the cutover; from the new one, every later time can be restored."""
        primary = self.primary
        fresh = self.base_backup_dir.with_name("base.new")
        shutil.rmtree(fresh, ignore_errors=True)
        primary.run_tool("pg_basebackup", *self._basebackup_args(primary, fresh))
        shutil.rmtree(self.base_backup_dir)
        fresh.rename(self.base_backup_dir)
        self.progress(f"base backup renewed in {self.base_backup_dir} from {primary.name}")
        self.progress(f"base backup archived in {self._archive_base_backup()}")

    def _archive_current_wal(self) -> None:
        """Make the WAL up to now reach the archive, ending with a commit after any target time.

        Recovery to a time stops at the first commit after it: without one it would run out of
        WAL and fail, so a transaction with an xid is committed first.
        """
        primary = self.primary
        primary.query("SELECT pg_current_xact_id()")
        segment = primary.query("SELECT pg_walfile_name(pg_switch_wal())")[0][0]

        def archived() -> None:
            last, failed = primary.query(
                "SELECT last_archived_wal, last_failed_wal FROM pg_stat_archiver"
            )[0]
            # Segment names sort by timeline then position; a .history file does not count.
            if not (last and len(last) == 24 and last >= segment):
                raise RuntimeError(
                    f"WAL segment {segment} not archived yet in {self.archive_dir} "
                    f"(last archived {last}, last failed {failed})"
                )

        primary.wait_until(archived)

    def restore_topology(self) -> bool:
        """Back to "az-a primary, az-b streaming standby" keeping what was written to az-b;
        whether anything had to change.

        After a failover the promoted az-b holds the newest data, even when az-a still runs
        (a failover away from a degraded zone): az-b is stopped cleanly and its data directory
        becomes az-a's; az-a starts as primary and az-b is re-seeded from it.
        """
        az_a, az_b = self.node("az-a"), self.node("az-b")
        if self._in_topology(az_a, az_b):
            return False
        if az_b.running and not az_b.is_in_recovery():
            az_a.stop("immediate")
            az_b.stop("fast")
            shutil.rmtree(az_a.data_dir, ignore_errors=True)
            run_command(
                ["cp", "-a", str(az_b.data_dir), str(az_a.data_dir)],
                user=PG_USER,
                timeout_s=COMMAND_TIMEOUT_S,
                log=self.commands,
            )
            (az_a.data_dir / "standby.signal").unlink(missing_ok=True)
            az_a.start()
            az_a.wait_writable()
        elif not (az_a.running and not az_a.is_in_recovery()):
            raise RuntimeError(
                "restore_topology needs a running primary: neither az-a nor az-b accepts "
                f"writes (logs {az_a.log_path}, {az_b.log_path})"
            )
        if self.toxiproxy is not None:  # a slowed stream would hold az-b's re-seed back
            self.toxiproxy.reset_proxy(REPLICATION_LINK)
        self._start_standby(az_b, az_a)
        if self.toxiproxy is not None:
            for node in (az_a, az_b):
                self.toxiproxy.update_proxy(
                    self.proxy_name(node.name), upstream=node.address, enabled=True
                )
        self.progress("topology restored: az-a primary, az-b streaming")
        return True

    def _in_topology(self, az_a: PgNode, az_b: PgNode) -> bool:
        """az-a writable, az-b a running standby streaming from it, proxies pointing home."""
        if not (az_a.running and az_b.running):
            return False
        if az_a.is_in_recovery() or not az_b.is_in_recovery():
            return False
        if not az_a.query("SELECT 1 FROM pg_stat_replication WHERE state = 'streaming'"):
            return False
        if self.toxiproxy is None:
            return True
        return all(
            (proxy := self.toxiproxy.proxy(self.proxy_name(node.name))).enabled
            and proxy.upstream == node.address
            for node in (az_a, az_b)
        )

    def wait_standby_caught_up(self, timeout_s: float | None = None) -> None:
        """Wait until az-b has replayed everything az-a had written when this was called."""
        primary, standby = self.primary, self.standby
        target = primary.query("SELECT pg_current_wal_lsn()")[0][0]

        def replayed() -> None:
            behind = standby.query(
                "SELECT pg_wal_lsn_diff(%s, pg_last_wal_replay_lsn())", [target]
            )[0][0]
            if behind > 0:
                raise RuntimeError(f"{standby.name} is {behind} bytes behind {primary.name}")

        standby.wait_until(replayed, timeout_s)
