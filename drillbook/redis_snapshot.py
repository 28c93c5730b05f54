"""The plan's Redis AOF spot check (4.3: 校验 `redis_exports.rdb` 可加载): an RDB snapshot taken
from a node the way the plan's `redis-cli --rdb` takes it (a replication SYNC), then read by
Redis's own loader, `redis-check-rdb`, which parses every key and verifies the checksum.

Both programs come from the Redis packages on the machine running the drill; the password
goes to redis-cli in its environment (REDISCLI_AUTH), never on a command line.
"""

from __future__ import annotations

import os
import re
import subprocess
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import unquote, urlsplit

KEYS_READ = re.compile(r"\[info\] (\d+) keys read")
LOOKS_OK = "RDB looks OK"


@dataclass(frozen=True)
class RdbSnapshot:
    """A snapshot and what the loader made of it: `keys` is None when it did not load."""

    node: str
    size: int
    keys: int | None
    problem: str | None  # why it was not taken or did not load


def snapshot_and_load(node: str, url: str, work_dir: Path, timeout_s: float) -> RdbSnapshot:
    """`redis-cli --rdb` of the node at `url` into a file of `work_dir`, then `redis-check-rdb`
    of it; the file is removed afterwards (it holds the cache's data)."""
    parts = urlsplit(url)
    if parts.scheme != "redis":
        why = f"{parts.scheme}:// is not supported: the snapshot is taken over plain redis://"
        return RdbSnapshot(node, 0, None, why)
    auth = {"REDISCLI_AUTH": unquote(parts.password)} if parts.password else {}
    user = ["--user", unquote(parts.username)] if parts.username else []
    host, port = parts.hostname or "127.0.0.1", str(parts.port or 6379)
    path = work_dir / f"{node}.rdb"
    try:
        argv = ["redis-cli", "-h", host, "-p", port, *user, "--rdb", str(path)]
        taken, said = _run(argv, timeout_s, os.environ | auth)
        if not taken or not path.exists():
            return RdbSnapshot(node, 0, None, f"redis-cli --rdb failed: {said[-300:]}")
        size = path.stat().st_size
        loaded, said = _run(["redis-check-rdb", str(path)], timeout_s, dict(os.environ))
    finally:
        path.unlink(missing_ok=True)
    keys = KEYS_READ.search(said)
    if not loaded or LOOKS_OK not in said or keys is None:
        last = said.strip().splitlines()[-1:] or ["no output"]
        return RdbSnapshot(node, size, None, f"redis-check-rdb: {last[0]}")
    return RdbSnapshot(node, size, int(keys.group(1)), None)


def _run(argv: list[str], timeout_s: float, env: dict[str, str]) -> tuple[bool, str]:
    """Whether the command succeeded, and what it printed (or why it could not run)."""
    try:
        done = subprocess.run(argv, capture_output=True, text=True, timeout=timeout_s, env=env)
    except (OSError, subprocess.TimeoutExpired) as exc:
        return False, f"{type(exc).__name__}: {exc}"
    return done.returncode == 0, (done.stdout + done.stderr) or f"exit {done.returncode}"
