"""Environment profiles: `environments/NAME.yaml`, validated on load.

A profile names where a drill runs and how hard it may hit. Validation is strict because a typo
in a profile silently aimed at the wrong endpoint is worse than a refusal: unknown keys, missing
fields, wrong types and secrets written into the file are errors that name the file and the key.
Secrets are written as `${VAR}` and resolved from the environment when the profile is loaded.
The programs a local profile names are looked for when it loads, not once the stack is starting.

A live profile names the endpoints of a system the harness did not start and binds each fault
and remediation to an action (drillbook.environments.live.bindings); both are checked here, so a
binding that names an unknown zone or forgets its revert is refused before anything runs.
"""

from __future__ import annotations

import math
import os
import re
import shutil
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import yaml

from drillbook.capabilities.cache import NODES

ENV_REF = re.compile(r"^\$\{([A-Z_][A-Z0-9_]*)\}$")
SECRET_KEY = re.compile(r"password|secret|token|dsn|api_key|access_key", re.IGNORECASE)
URL_WITH_PASSWORD = re.compile(r"://[^/@:\s]*:[^/@\s]+@")
# libpq's key=value form of a DSN
KEYWORD_PASSWORD = re.compile(r"\bpassword\s*=", re.IGNORECASE)


class ProfileError(ValueError):
    """A profile that cannot be used, with the file and key that are wrong."""

    def __init__(self, path: Path, key: str, problem: str) -> None:
        self.path, self.key, self.problem = path, key, problem
        where = f"{path}: key '{key}'" if key else str(path)
        super().__init__(f"{where}: {problem}")


# Types of the schema beyond Python's own (str, int, float, bool, dict) and nested schemas.
@dataclass(frozen=True)
class ListOf:
    """A list whose every item is of `item` (a type or a schema)."""

    item: Any


@dataclass(frozen=True)
class MappingOf:
    """A mapping of names the profile chooses (zones, regions, nodes) to values of `value`."""

    value: Any


class Secret:
    """A str that must be written as ${VAR}, whatever its key is called (a DSN under a zone)."""


class Name:
    """A str naming something of the profile (a zone): never a secret, whatever its key."""


class Url:
    """An absolute URL (scheme and host)."""


class Data:
    """Any YAML data passed on as it is (a request body, API arguments); its strings are
    resolved and checked for secrets like every other."""


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
    # the warm-standby region's name; without it the stack is the primary region alone
    "standby_region": (str, False),
    # the TTL of the service's weighted records, in seconds (default 5)
    "dns_ttl_s": (int, False),
}
_S3_REGION = {
    "endpoint": (Url, True),
    "access_key_id": (str, True),
    "secret_access_key": (str, True),
}
_ENDPOINTS = {
    "service": (Url, True),
    "service_admin": (ListOf(Url), False),
    "postgres": (MappingOf(Secret), False),
    "postgres_app": (MappingOf(Secret), False),
    "primary_zone": (str, False),
    "redis": (MappingOf(Url), False),
    "toxiproxy": (Url, False),
    "links": (MappingOf(str), False),
    "s3": (MappingOf(_S3_REGION), False),
    "storage": (
        {
            "primary_region": (str, True),
            "dr_region": (str, True),
            "replication_link": (str, True),
            "exports_bucket": (str, True),
        },
        False,
    ),
    "kubernetes": (
        {
            "kubeconfig": (str, True),
            "context": (str, False),
            # the Service whose Ready endpoints are the replicas' admin URLs
            "service": ({"namespace": (str, True), "name": (str, True)}, False),
        },
        False,
    ),
    # region -> the links that connect it (all cut when it is cut off) and its own cluster
    "regions": (
        MappingOf(
            {
                "links": (ListOf(str), True),
                "kubernetes": ({"kubeconfig": (str, True), "context": (str, False)}, False),
            }
        ),
        False,
    ),
    "aws": (
        {
            "region": (str, True),
            "endpoint_url": (Url, False),
            # where the drill's measured signals are published; not published without it
            "metrics_namespace": (str, False),
        },
        False,
    ),
    # the team's Prometheus, and the harness's alert receiver its Alertmanager delivers to
    "monitoring": (
        {
            "prometheus": (Url, True),
            "alert_receiver": (Url, True),
            "scrape_interval_s": (float, True),
            # the load balancer's request counter section 7's RTO at the front door reads
            "front_door": (
                {
                    "metric": (str, True),
                    "endpoint_label": (str, False),
                    "status_label": (str, False),
                },
                False,
            ),
        },
        False,
    ),
}
# Bindings are checked by drillbook.environments.live.bindings once the endpoints are known.
_LIVE = {"endpoints": (_ENDPOINTS, True), "bindings": (dict, False)}
_STOP_CONDITIONS = {
    "sla_floor": ({"success_rate": (float, True), "for_s": (float, True)}, False),
    "stop_file": (str, False),
    "alarm": (
        {
            "url": (Url, True),
            "field": (str, True),
            "firing": (str, True),
            "every_s": (float, False),
            "timeout_s": (float, False),
        },
        False,
    ),
}
ALARM_DEFAULTS = {"every_s": 2.0, "timeout_s": 2.0}
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
    "stop_conditions": (_STOP_CONDITIONS, False),
    "allow_faults": (ListOf(str), False),
}
KINDS = ("local", "live")
# The PostgreSQL programs the local stack runs from `local.pg_bin_dir` (its other tools, such as
# pg_basebackup and pg_ctl, ship in the same directory).
PG_PROGRAMS = ("initdb", "postgres")
# Keys of `local:` naming a program: a path, or a name looked up on PATH.
LOCAL_TOOLS = ("redis_server", "toxiproxy_server", "minio", "mc")


@dataclass(frozen=True)
class Profile:
    """A validated environment profile.

    `live` holds `endpoints` (resolved, defaults filled in: `service_admin` is [service] unless
    `kubernetes.service` names where the replicas are found, and `postgres_app` each zone's
    `postgres` DSN when not given) and `bindings` (operation name ->
    drillbook.environments.live.bindings.Binding). `allow_faults` is None when the profile
    restricts no fault.
    """

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
    stop_conditions: dict[str, Any] = field(default_factory=dict)
    allow_faults: tuple[str, ...] | None = None


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
    resolved = validate(path, data, SCHEMA, "", environ)
    kind = resolved["kind"]
    if kind not in KINDS:
        raise ProfileError(path, "kind", f"must be one of {list(KINDS)}, not '{kind}'")
    if kind not in resolved:
        raise ProfileError(path, kind, f"missing: a '{kind}' profile needs a '{kind}:' section")
    if kind == "local":
        _check_local_binaries(path, resolved["local"])
    live = _live(path, resolved["live"], environ) if "live" in resolved else {}
    allow_faults = resolved.get("allow_faults")
    if allow_faults is not None:
        _check_allow_faults(path, allow_faults)
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
        live=live,
        stop_conditions=_stop_conditions(path, resolved.get("stop_conditions", {})),
        allow_faults=None if allow_faults is None else tuple(allow_faults),
    )


def validate(
    path: Path, data: dict, schema: dict[str, Any], prefix: str, environ: dict[str, str]
) -> dict[str, Any]:
    """`data` checked against `schema` (key -> (type, required)) and its ${VAR}s resolved; keys
    in errors are `prefix` + the key. Values are checked in the file's order, so the first
    error reported is the first one in the file."""
    unknown = sorted(set(data) - set(schema), key=str)
    if unknown:
        key = prefix + str(unknown[0])
        raise ProfileError(path, key, f"unknown key (allowed here: {', '.join(sorted(schema))})")
    out = {
        key: _value(path, prefix + key, value, schema[key][0], environ)
        for key, value in data.items()
    }
    for key, (_, required) in schema.items():
        if required and key not in data:
            raise ProfileError(path, prefix + key, "missing")
    return out


def _value(path: Path, dotted: str, value: Any, kind: Any, environ: dict[str, str]) -> Any:
    if isinstance(kind, dict):
        return validate(path, _mapping(path, dotted, value), kind, dotted + ".", environ)
    if isinstance(kind, ListOf):
        if not isinstance(value, list):
            raise ProfileError(path, dotted, f"must be a list, not {value!r}")
        return [_value(path, f"{dotted}[{i}]", v, kind.item, environ) for i, v in enumerate(value)]
    if isinstance(kind, MappingOf):
        return {
            name: _value(path, f"{dotted}.{name}", v, kind.value, environ)
            for name, v in _mapping(path, dotted, value).items()
        }
    if kind is Data:
        return _data(path, dotted, value, environ)
    if isinstance(value, str):
        value = _resolve(path, dotted, value, environ, kind)
    if kind in (Secret, Name, Url):
        return _text(path, dotted, value, kind)
    if kind is float and isinstance(value, int) and not isinstance(value, bool):
        value = float(value)
    if not isinstance(value, kind) or (kind is int and isinstance(value, bool)):
        raise ProfileError(path, dotted, f"must be {kind.__name__}, not {value!r}")
    return value


def _mapping(path: Path, dotted: str, value: Any) -> dict[str, Any]:
    if not isinstance(value, dict):
        raise ProfileError(path, dotted, "must be a mapping")
    for name in value:
        if not isinstance(name, str):
            raise ProfileError(path, f"{dotted}.{name}", "names must be strings")
    return value


def _data(path: Path, dotted: str, value: Any, environ: dict[str, str]) -> Any:
    if isinstance(value, dict):
        return {
            k: _data(path, f"{dotted}.{k}", v, environ)
            for k, v in _mapping(path, dotted, value).items()
        }
    if isinstance(value, list):
        return [_data(path, f"{dotted}[{i}]", v, environ) for i, v in enumerate(value)]
    if isinstance(value, str):
        return _resolve(path, dotted, value, environ, str)
    return value


def _text(path: Path, dotted: str, value: Any, kind: type) -> str:
    if not isinstance(value, str):
        raise ProfileError(path, dotted, f"must be str, not {value!r}")
    if kind is Url:
        parts = urlsplit(value)
        if not (parts.scheme and parts.netloc):
            # not echoed: a URL resolved from the environment may carry a credential
            raise ProfileError(path, dotted, "must be an absolute URL (scheme://host...)")
    return value


def _resolve(path: Path, dotted: str, value: str, environ: dict[str, str], kind: Any) -> str:
    ref = ENV_REF.match(value)
    if ref:
        var = ref.group(1)
        if var not in environ:
            raise ProfileError(path, dotted, f"environment variable {var} is not set")
        return environ[var]
    secret_by_name = kind is not Name and SECRET_KEY.search(dotted.rsplit(".", 1)[-1])
    if kind is Secret or secret_by_name or _holds_password(value):
        raise ProfileError(
            path, dotted, "holds a secret written in the file; write it as ${VARIABLE} instead"
        )
    return value


def _holds_password(value: str) -> bool:
    return bool(URL_WITH_PASSWORD.search(value) or KEYWORD_PASSWORD.search(value))


def _live(path: Path, live: dict[str, Any], environ: dict[str, str]) -> dict[str, Any]:
    """The endpoints checked against each other and given their defaults, then the bindings."""
    from drillbook.environments.live.bindings import parse_bindings  # it imports this module

    endpoints = _endpoints(path, live["endpoints"])
    bindings = parse_bindings(path, live.get("bindings", {}), endpoints, environ)
    return {"endpoints": endpoints, "bindings": bindings}


def _endpoints(path: Path, endpoints: dict[str, Any]) -> dict[str, Any]:
    where = "live.endpoints."
    zones = endpoints.get("postgres", {})
    for zone in endpoints.get("postgres_app", {}):
        _one_of(path, f"{where}postgres_app.{zone}", zone, zones, "live.endpoints.postgres")
    if zones and "primary_zone" not in endpoints:
        raise ProfileError(
            path, where + "primary_zone", "missing: the zone written to when nothing is broken"
        )
    if "primary_zone" in endpoints:
        zone = endpoints["primary_zone"]
        _one_of(path, where + "primary_zone", zone, zones, "live.endpoints.postgres")
    for node in endpoints.get("redis", {}):
        _one_of(path, f"{where}redis.{node}", node, NODES, "the nodes")
    if "storage" in endpoints:
        for key in ("primary_region", "dr_region"):
            region = endpoints["storage"][key]
            _one_of(
                path, f"{where}storage.{key}", region, endpoints.get("s3", {}), "live.endpoints.s3"
            )
    if "monitoring" in endpoints:
        scrape = endpoints["monitoring"]["scrape_interval_s"]
        if not (math.isfinite(scrape) and scrape > 0):
            # the alert waits poll at half of it and the RTO by Prometheus steps by it
            raise ProfileError(
                path, where + "monitoring.scrape_interval_s", f"must be positive, not {scrape:g}"
            )
    # found at each read through the cluster when it names the Service, else the service URL
    discovered = "service" in endpoints.get("kubernetes", {})
    return {
        **({} if discovered else {"service_admin": [endpoints["service"]]}),
        **endpoints,
        "postgres_app": {**zones, **endpoints.get("postgres_app", {})},
    }


def _one_of(path: Path, dotted: str, name: str, known: Any, what: str) -> None:
    if name not in known:
        listed = ", ".join(known) or "none"
        raise ProfileError(path, dotted, f"{name!r} is not one of {what} ({listed})")


def _check_allow_faults(path: Path, names: list[str]) -> None:
    from drillbook.environments.live.operations import fault_names

    known = fault_names()
    for i, name in enumerate(names):
        if name not in known:
            raise ProfileError(
                path, f"allow_faults[{i}]", f"{name!r} is no fault (faults: {', '.join(known)})"
            )


def _stop_conditions(path: Path, conditions: dict[str, Any]) -> dict[str, Any]:
    """The alarm's defaults filled in; every duration positive, the SLA floor a fraction."""
    out = dict(conditions)
    if "alarm" in out:
        out["alarm"] = {**ALARM_DEFAULTS, **out["alarm"]}
    floor = out.get("sla_floor")
    if floor and not 0 < floor["success_rate"] <= 1:
        raise ProfileError(path, "stop_conditions.sla_floor.success_rate", "must be in (0, 1]")
    for section, key in (("sla_floor", "for_s"), ("alarm", "every_s"), ("alarm", "timeout_s")):
        value = out.get(section, {}).get(key)
        if value is not None and value <= 0:
            raise ProfileError(
                path, f"stop_conditions.{section}.{key}", f"must be positive, not {value}"
            )
    return out


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
