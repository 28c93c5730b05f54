"""How a later run reverts a live environment's built-in faults when this one was killed.

A bound fault is recovered by its binding's revert ("live-binding"). The built-in ones act
through the profile's endpoints, so their recover op names the profile and the operation,
never an endpoint or a secret: the recovering run loads the profile with its own environment
variables and undoes the fault through the same endpoints. A bad DELETE cannot be recovered so:
the rows it put back exist only in the memory of the run that deleted them.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace
from functools import partial
from pathlib import Path
from typing import Any

import redis

from drillbook.capabilities.operation import Operation
from drillbook.environments.common import configure_redis
from drillbook.faults.recover import recover_op
from drillbook.glancy import GlancyClient
from drillbook.objects import restore_previous_version
from drillbook.profile import Profile, load_profile

RECOVER_OP = "live-built-in"


def recoverable(
    operation: Operation[Any], profile_path: Path, name: str, **params: Any
) -> Operation[Any]:
    """`operation` with a recover op that undoes it from the profile at `profile_path`."""
    recover = {
        "op": RECOVER_OP,
        "profile": str(profile_path.resolve()),
        "operation": name,
        **params,
    }
    return replace(operation, recover=recover)


def _refund(profile: Profile, params: dict[str, Any]) -> str:
    GlancyClient(profile.live["endpoints"]["service"]).refund_spend()
    return "the drill's LLM spend taken back"


def _restore_object(profile: Profile, params: dict[str, Any]) -> str:
    from drillbook.environments.live.storage import LiveStorage  # boto3 only when needed

    endpoints = profile.live["endpoints"]
    storage = LiveStorage(endpoints["s3"], endpoints["storage"])
    client = storage.client(storage.primary_region)
    restore_previous_version(client, params["bucket"], params["key"])
    return f"object {params['bucket']}/{params['key']} restored from its previous version"


def _restore_memory(profile: Profile, params: dict[str, Any]) -> str:
    from drillbook.environments.live.cache import SOCKET_TIMEOUT_S  # which imports this

    url = profile.live["endpoints"]["redis"]["primary"]
    configure_redis(
        partial(redis.Redis.from_url, url, socket_timeout=SOCKET_TIMEOUT_S), params["before"]
    )
    return f"the Redis primary's memory limit and policy back to {params['before']}"


REVERTS: dict[str, Callable[[Profile, dict[str, Any]], str]] = {
    "cache.exhaust_memory": _restore_memory,
    "service.spend_tokens": _refund,
    "storage.delete_by_mistake": _restore_object,
}


@recover_op(RECOVER_OP)
def revert_built_in(params: dict[str, Any]) -> str:
    """{"profile": path, "operation": name, ...its params}: the fault undone through the
    profile's endpoints as they read now."""
    profile = load_profile(Path(params["profile"]))
    if params["operation"] not in REVERTS:
        raise ValueError(f"no recovery of the built-in {params['operation']!r}")
    return REVERTS[params["operation"]](profile, params)
