"""Reading /proc/<pid>/stat, where the command name may hold spaces and parentheses."""

from __future__ import annotations

from pathlib import Path


def stat_fields(proc_dir: Path) -> list[str] | None:
    """The fields after the command name of a /proc/<pid> folder's stat (state first, then
    the parent pid, ...); None when the process is gone."""
    try:
        stat = (proc_dir / "stat").read_text()
    except OSError:
        return None
    # The command name is in parentheses and may contain anything: fields follow the last ")".
    return stat.rsplit(")", 1)[1].split()


def pid_fields(pid: int) -> list[str] | None:
    return stat_fields(Path(f"/proc/{pid}"))
