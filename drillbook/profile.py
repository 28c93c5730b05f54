"""Environment profiles: `environments/NAME.yaml`, validated on load.

A profile names where a drill runs and how hard it may hit. Validation is strict because a typo
in a profile silently aimed at the wrong endpoint is worse than a refusal: unknown keys, missing
fields, wrong types and secrets written into the file are errors that name the file and the key.
Secrets are written as `${VAR}` and resolved from the environment when the profile is loaded.
The programs a local profile names are looked for when it loads, not once the stack is starting.
"""

from __future__ import annotations

import os
import re
import shutil
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

ENV_REF = re.compile(r"^\$\{([A-Z_][A-Z0-9_]*)\}$")
SECRET_KEY = re.compile(r"password|secret|token|dsn|api_key|access_key", re.IGNORECASE)
URL_WITH_PASSWORD = re.compile(r"://[^/@:\s]*:[^/@\s]+@")


class ProfileError(ValueError):
    """A profile that cannot be used, with the file and key that are wrong."""

    def __init__(self, path: Path, key: str, problem: str) -> None:
        self.path, self.key, self.problem = path, key, problem
        where = f"{path}: key '{key}'" if key else str(path)
        super().__init__(f"{where}: {problem}")


# The schema: key -> (type, required). Nested mappings are schemas themselves.
_WORKLOAD = {
    "probe_timeout_ms": (int, True),
    "window_s": (float, True),
    "window_requests": (int, True),
}
# Only what something reads: how long each component of the stack may take to start. The waits
# of a drill take their limits from its steps.
_TIMEOUTS = {"ready_s": (float, True)}
_LOCAL = {
    "pg_bin_dir": (str, True),
    "archive_timeout_s": (int, True),
    "redis_server": (str, False),
    "toxiproxy_server": (str, False),
    "minio": (str, False),
    "mc": (str, False),
    "llm_timeout_s": (float, False),
    "llm_breaker": (bool, False),
}
_LIVE = {
    "service_url": (str, True),
    "postgres_primary_dsn": (str, True),
    "postgres_standby_dsn": (str, False),
    "redis_url": (str, False),
    "toxiproxy_url": (str, False),
}
SCHEMA: dict[str, Any] = {
    "name": (str, True),
    "kind": (str, True),
    "description": (str, False),
    "destructive": (bool, True),
    "owners": (dict, False),
    "runbook_url": (str, True),
    "workload": (_WORKLOAD, True),
    "timeouts": (_TIMEOUTS, True),
    "local": (_LOCAL, False),
    "live": (_LIVE, False),
}
KINDS = ("local", "live")
# The PostgreSQL programs the local stack runs from `local.pg_bin_dir` (its other tools, such as
# pg_basebackup and pg_ctl, ship in the same directory).
PG_PROGRAMS = ("initdb", "postgres")
# Keys of `local:` naming a program: a path, or a name looked up on PATH.
LOCAL_TOOLS = ("redis_server", "toxiproxy_server", "minio", "mc")


@dataclass(frozen=True)
class Profile:
    """A validated environment profile; `raw` keeps the resolved mapping."""

    name: str
    kind: str
    path: Path
    destructive: bool
    runbook_url: str
    workload: dict[str, Any]
    timeouts: dict[str, float]
    owners: dict[str, str] = field(default_factory=dict)
    local: dict[str, Any] = field(default_factory=dict)
    live: dict[str, Any] = field(default_factory=dict)


def profile_path(name: str, environments_dir: Path) -> Path:
    """Where the profile called NAME lives (or NAME itself, a path to a .yaml file); an unknown
    name lists the known ones."""
    if name.endswith((".yaml", ".yml")) and Path(name).is_file():
        return Path(name)
    path = environments_dir / f"{name}.yaml"
    if not path.is_file():
        known = sorted(p.stem for p in environments_dir.glob("*.yaml"))
        raise ProfileError(path, "", f"no such environment '{name}' (known: {', '.join(known)})")
    return path


def load_profile(path: Path, environ: dict[str, str] | None = None) -> Profile:
    """Read, validate and resolve one profile file."""
    environ = dict(os.environ) if environ is None else environ
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        line = f" at line {mark.line + 1}" if mark else ""
        raise ProfileError(path, "", f"not valid YAML{line}: {exc}") from exc
    if not isinstance(data, dict):
        raise ProfileError(path, "", "must be a mapping of keys to values")
    resolved = _validate(path, data, SCHEMA, "", environ)
    kind = resolved["kind"]
    if kind not in KINDS:
        raise ProfileError(path, "kind", f"must be one of {list(KINDS)}, not '{kind}'")
    if kind not in resolved:
        raise ProfileError(path, kind, f"missing: a '{kind}' profile needs a '{kind}:' section")
    if kind == "local":
        _check_local_binaries(path, resolved["local"])
    return Profile(
        name=resolved["name"],
        kind=kind,
        path=path,
        destructive=resolved["destructive"],
        runbook_url=resolved["runbook_url"],
        workload=resolved["workload"],
        timeouts=resolved["timeouts"],
        owners=resolved.get("owners", {}),
        local=resolved.get("local", {}),
        live=resolved.get("live", {}),
    )


def _validate(path: Path, data: dict, schema: dict, prefix: str, environ: dict[str, str]) -> dict:
    unknown = sorted(set(data) - set(schema))
    if unknown:
        key = prefix + str(unknown[0])
        raise ProfileError(path, key, f"unknown key (allowed here: {', '.join(sorted(schema))})")
    out: dict[str, Any] = {}
    for key, (kind, required) in schema.items():
        dotted = prefix + key
        if key not in data:
            if required:
                raise ProfileError(path, dotted, "missing")
            continue
        out[key] = _value(path, dotted, data[key], kind, environ)
    return out


def _value(path: Path, dotted: str, value: Any, kind: Any, environ: dict[str, str]) -> Any:
    if isinstance(kind, dict):
        if not isinstance(value, dict):
            raise ProfileError(path, dotted, "must be a mapping")
        return _validate(path, value, kind, dotted + ".", environ)
    if isinstance(value, str):
        value = _resolve(path, dotted, value, environ)
    if kind is float and isinstance(value, int) and not isinstance(value, bool):
        value = float(value)
    if not isinstance(value, kind) or (kind is int and isinstance(value, bool)):
        raise ProfileError(path, dotted, f"must be {kind.__name__}, not {value!r}")
    return value


def _resolve(path: Path, dotted: str, value: str, environ: dict[str, str]) -> str:
    ref = ENV_REF.match(value)
    if ref:
        var = ref.group(1)
        if var not in environ:
            raise ProfileError(path, dotted, f"environment variable {var} is not set")
        return environ[var]
    if SECRET_KEY.search(dotted.rsplit(".", 1)[-1]) or URL_WITH_PASSWORD.search(value):
        raise ProfileError(
            path, dotted, "holds a secret written in the file; write it as ${VARIABLE} instead"
        )
    return value


def _check_local_binaries(path: Path, local: dict[str, Any]) -> None:
    """Refuse a local profile whose programs are not there, naming the key, before anything
    starts (instead of an initdb or redis-server argv failing once the stack is half up)."""
    bin_dir = Path(local["pg_bin_dir"])
    where = "local.pg_bin_dir"
    if not bin_dir.exists():
        raise ProfileError(path, where, f"{bin_dir} does not exist (no {PG_PROGRAMS[0]} there)")
    if not bin_dir.is_dir():
        raise ProfileError(path, where, f"{bin_dir} is not a directory")
    for program in PG_PROGRAMS:
        binary = bin_dir / program
        if not (binary.is_file() and os.access(binary, os.X_OK)):
            raise ProfileError(path, where, f"{bin_dir} has no executable {program}")
    for key in LOCAL_TOOLS:
        if key in local:
            problem = _not_executable(local[key])
            if problem:
                raise ProfileError(path, f"local.{key}", problem)


def _not_executable(value: str) -> str | None:
    """Why `value` (a path, or a name looked up on PATH) is not a program to run, or None."""
    if shutil.which(value) is not None:
        return None
    if os.sep not in value:
        return f"{value} is not found on PATH"
    if not os.path.exists(value):
        return f"{value} does not exist"
    return f"{value} is not an executable file"
