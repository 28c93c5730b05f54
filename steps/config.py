"""Plan section 2's configuration and secrets row (ConfigCenter + KMS): configuration releases
the replicas check, and the secrets' expiry and rotation.

A release is published as the config center would, under a trace id of its own, which the
replicas' check logs and the alerts on it name; the history keeps it with the release, so a
check of the alert's annotations holds the trace to this drill's.
"""

from __future__ import annotations

import json
import time
import uuid

from pytest_bdd import parsers, when

from drillbook.bdd import performs, reverts
from drillbook.capabilities import Service
from drillbook.capabilities.service import CONFIGURATION, expiry_changes
from drillbook.drill import Drill, DrillError


@when(parsers.parse('a configuration with "{key}" set to {value} is published'))
@performs("service.publish_config")
def publish_value(drill: Drill, service: Service, key: str, value: str) -> None:
    """A release with one key changed; `value` is JSON (-1, "text", true, null)."""
    try:
        parsed = json.loads(value)
    except json.JSONDecodeError:
        raise DrillError(
            f'the value {value} for {key!r} is not JSON: quote a text, e.g. "{value}"'
        ) from None
    drill.apply(service.publish_config({key: parsed}, uuid.uuid4().hex))


@when(parsers.parse('the key "{key}" is published to expire in {days:g} days'))
@performs("service.publish_config")
def publish_expiry(drill: Drill, service: Service, key: str, days: float) -> None:
    """A release declaring the secret at `key` expiring sooner (its key service's rotation
    date), the secret itself unchanged."""
    changes = expiry_changes([key], time.time() + days * 86400)
    drill.apply(service.publish_config(changes, uuid.uuid4().hex))


@when(parsers.parse('the key "{key}" is rotated, valid {days:g} days'))
@performs("service.rotate_key", key="{key}", days="{days}")
def rotate(drill: Drill, service: Service, key: str, days: float) -> None:
    drill.apply(service.rotate_key(key, days, uuid.uuid4().hex))


@when("the configuration the replicas run is published again")
@reverts("service.publish_config")
def publish_running(drill: Drill) -> None:
    """The config center's rollback: the releases of the drill reverted."""
    drill.restore(CONFIGURATION)
