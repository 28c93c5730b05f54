"""The live profile of a detached stack: drills run against it as against a team's staging.

`up` writes it from the daemon's DIR/state.json. Its endpoints are ${DRILLBOOK_STACK_...}
references whose values (credentials included) go to an env file beside it, mode 0600, so the
profile itself holds no secret; every operation of the live bindings' table is bound to a
runbook command of drillbook.detached.runbook, with the revert that undoes it.
"""

from __future__ import annotations

import re
import sys
from pathlib import Path
from typing import Any, NamedTuple

import yaml

from drillbook.detached.runbook import ACTIONS, CLIENT_MARGIN_S, DIR_VARIABLE
from drillbook.private_files import write_private

VARIABLE_PREFIX = "DRILLBOOK_STACK_"
# Endpoints written as variable references; the others (primary_zone, storage) are settings.
REFERENCED = ("service", "postgres", "postgres_app", "redis", "toxiproxy", "s3")
# What a command adds to its action's limit: starting the interpreter and connecting.
COMMAND_START_S = 15.0


class Call(NamedTuple):
    """A runbook action and its flags' values, templated with the operation's params."""

    action: str
    args: dict[str, str]


class Bound(NamedTuple):
    run: Call
    revert: Call | None
    json: bool  # the operation's result is read from the command's stdout


HEAL_DATABASE = Call("heal-database", {})
HEAL_REDIS = Call("heal-redis", {})
# Operation name (drillbook/environments/live/operations.py) -> the runbook commands bound to it.
BINDINGS: dict[str, Bound] = {
    "database.kill_primary": Bound(Call("kill-postgres", {"zone": "{zone}"}), HEAL_DATABASE, True),
    "database.promote": Bound(
        Call("promote-standby", {"candidate": "{zone}"}), HEAL_DATABASE, False
    ),
    "database.restore_to": Bound(
        Call("pitr", {"target": "{target}", "name": "{name}"}),
        Call("drop-restored", {"name": "{name}"}),
        True,
    ),
    "service.point_database": Bound(
        Call("switch-database", {"name": "{name}"}), HEAL_DATABASE, True
    ),
    "service.point_cache": Bound(Call("switch-cache", {"node": "{node}"}), HEAL_REDIS, True),
    "service.roll_out": Bound(
        Call("roll-out", {"version": "{version}"}),
        Call("roll-out", {"version": "{previous}"}),
        True,
    ),
    "service.force_l2": Bound(
        Call("cache-mode", {"l2": "forced"}), Call("cache-mode", {"l2": "behind-l1"}), True
    ),
    "service.publish_config": Bound(
        Call("publish-config", {"changes": "{changes}", "trace_id": "{trace_id}"}),
        Call("publish-running", {}),
        True,
    ),
    "service.rotate_key": Bound(
        Call("rotate-key", {"key": "{key}", "days": "{days}", "trace_id": "{trace_id}"}),
        Call("publish-running", {}),
        True,
    ),
    "cache.kill_primary": Bound(Call("kill-redis-primary", {}), HEAL_REDIS, True),
    "cache.wipe_primary": Bound(Call("wipe-redis-primary", {}), HEAL_REDIS, False),
    "cache.restart_primary": Bound(Call("restart-redis-primary", {}), None, True),
    "cache.promote_replica": Bound(Call("promote-redis-replica", {}), HEAL_REDIS, False),
    "service.take_over": Bound(
        Call("take-over", {"region": "{region}"}), Call("hand-back", {"region": "{region}"}), True
    ),
    "service.stand_by": Bound(
        Call("stand-by", {"region": "{region}"}), Call("reclaim", {"region": "{region}"}), True
    ),
    "exports.kill_worker_mid_task": Bound(
        Call("kill-export-worker", {"timeout": "{timeout_s}"}), Call("heal-export-worker", {}), True
    ),
}


def env_file_of(profile: Path) -> Path:
    if profile.suffix not in (".yaml", ".yml"):
        raise ValueError(f"a profile is a .yaml file, not {profile}")
    return profile.with_suffix(".env")


def write_profile(state: dict[str, Any], profile: Path) -> Path:
    """Write the live profile at `profile` and its env file beside it; the env file's path."""
    env_file = env_file_of(profile)
    endpoints, variables = references(state["endpoints"])
    variables = {DIR_VARIABLE: state["dir"], **variables}
    header = (
        f"# The embedded stack detached in {state['dir']} (python -m drillbook.stack up), as a\n"
        f"# live environment. Its endpoints are variables of {env_file.name}; load them first:\n"
        f"#   set -a; . {env_file}; set +a\n"
    )
    body = yaml.safe_dump(
        profile_data(state, endpoints), sort_keys=False, default_flow_style=None, width=100
    )
    profile.parent.mkdir(parents=True, exist_ok=True)
    profile.write_text(header + body, encoding="utf-8")
    lines = [f"{name}={shell_quoted(value)}\n" for name, value in variables.items()]
    write_private(env_file, "".join(lines))
    return env_file


def profile_data(state: dict[str, Any], endpoints: dict[str, Any]) -> dict[str, Any]:
    local = state["profile"]
    return {
        "name": "staging",
        "kind": "live",
        "description": f"the embedded stack detached in {state['dir']}, standing in for staging",
        "destructive": True,
        "runbook_url": "docs/dr-plan.zh.md",
        **({"owners": local["owners"]} if local["owners"] else {}),
        "workload": local["workload"],
        "timeouts": local["timeouts"],
        "live": {"endpoints": endpoints, "bindings": bindings()},
    }


def bindings() -> dict[str, dict[str, Any]]:
    written = {}
    for name, bound in BINDINGS.items():
        written[name] = {"run": command(bound.run, bound.json)}
        if bound.revert is not None:
            written[name]["revert"] = command(bound.revert, False)
    return written


def command(call: Call, json_output: bool) -> dict[str, Any]:
    """A `kind: command` action running the runbook action with this interpreter."""
    spec = ACTIONS[call.action]
    argv = [sys.executable, "-m", "drillbook.stack", call.action]
    for param in spec.params:
        argv += [param.flag, call.args[param.name]]
    action: dict[str, Any] = {
        "kind": "command",
        "argv": argv,
        "timeout_s": spec.timeout_s + CLIENT_MARGIN_S + COMMAND_START_S,
    }
    if json_output:
        action["output"] = "json"
    return action


def references(endpoints: dict[str, Any]) -> tuple[dict[str, Any], dict[str, str]]:
    """The endpoints with every value under a REFERENCED key replaced by ${VARIABLE}, and the
    variables' values; a variable is named after its path (s3.ap-southeast-1.endpoint:
    DRILLBOOK_STACK_S3_AP_SOUTHEAST_1_ENDPOINT; a list's first item: ..._1)."""
    variables: dict[str, str] = {}

    def reference(path: list[str], value: Any) -> Any:
        if isinstance(value, dict):
            return {key: reference([*path, key], item) for key, item in value.items()}
        if isinstance(value, list):
            return [reference([*path, str(n)], item) for n, item in enumerate(value, 1)]
        name = VARIABLE_PREFIX + re.sub(r"[^A-Z0-9]+", "_", "_".join(path).upper())
        variables[name] = str(value)
        return f"${{{name}}}"

    written = {
        key: reference([key], value) if key in REFERENCED else value
        for key, value in endpoints.items()
    }
    return written, variables


def shell_quoted(value: str) -> str:
    """In single quotes, for `. FILE` in any POSIX shell."""
    return "'" + value.replace("'", "'\\''") + "'"
