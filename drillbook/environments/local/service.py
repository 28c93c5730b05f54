"""The local service: the reference service's replicas behind nginx, and their admin API."""

from __future__ import annotations

import time
from functools import partial
from typing import Any

from drillbook.capabilities.operation import Operation, fault, remediation
from drillbook.capabilities.service import RELEASE
from drillbook.environments.local.cache import redis_node
from drillbook.environments.local.database import LocalDatabase
from drillbook.environments.local.heal import heal_database, heal_redis
from drillbook.glancy import GlancyClient
from drillbook.stack import LocalStack


class LocalService:
    def __init__(self, stack: LocalStack, database: LocalDatabase, api: GlancyClient) -> None:
        self.stack = stack
        self.replicas = stack.service
        self.database = database
        self.api = api

    @property
    def url(self) -> str:
        return self.replicas.url

    def health(self) -> dict[str, Any]:
        return self.api.health()

    def point_database(self, name: str) -> Operation[dict]:
        dsn = self.database.instance(name).app_dsn
        return remediation(
            "switch endpoint",
            f"service database -> {name}",
            partial(self.replicas.switch_database, dsn),
            partial(heal_database, self.stack),
        )

    def point_cache(self, node: str) -> Operation[dict]:
        url = redis_node(self.stack, node).url
        return remediation(
            "switch endpoint",
            f"service redis -> {node}",
            partial(self.replicas.switch_redis, url),
            partial(heal_redis, self.stack),
        )

    def versions(self) -> list[str]:
        return self.replicas.versions()

    def roll_out(self, version: str) -> Operation[list[dict]]:
        previous = self.versions()
        if len(set(previous)) != 1:
            raise RuntimeError(f"replicas run mixed versions {previous}: no clean release")
        return fault(
            f"release {version}",
            RELEASE,
            partial(self._roll_to, version),
            partial(self._roll_to, previous[0]),
            version=version,
            previous=previous[0],
        )

    def _roll_to(self, version: str) -> list[dict]:
        """Roll each replica not yet on `version`, one at a time, timing each step."""
        steps = []
        for index, replica in enumerate(self.replicas.replicas):
            if replica.running and replica.config["version"] == version:
                continue
            started = time.monotonic()
            self.replicas.roll(index, version)
            took = time.monotonic() - started
            steps.append({"replica": index + 1, "version": version, "took_s": took})
        return steps

    def lookup(self, word: str, user: str) -> tuple[int, dict[str, str], dict]:
        return self.api.lookup(word, user)

    def regenerate(self, word: str, user: str) -> tuple[int, dict]:
        return self.api.regenerate(word, user)

    def history(self, user: str) -> list[dict]:
        return self.api.history(user)

    def delete_history(self, user: str) -> dict:
        return self.api.delete_history(user)

    def replay_deletions(self, since: float) -> Operation[dict]:
        return remediation(
            "replay deletions", "deletion queue", partial(self.api.replay_deletions, since)
        )

    def recompute_quota(self) -> Operation[dict]:
        return remediation("quota compensation", "quota counters", self.api.recompute_quota)

    def quota(self, user: str) -> dict:
        return self.api.quota(user)

    def budget(self) -> dict:
        return self.api.budget()

    def spend_tokens(self, tokens: int) -> Operation[dict]:
        return fault(
            f"spend {tokens} tokens",
            "llm budget",
            partial(self.api.spend, tokens),
            self.api.refund_spend,
        )

    def llm_breaker(self) -> dict[str, Any]:
        return self.replicas.llm_breaker()

    def cache_stats(self) -> dict[str, Any]:
        return self.replicas.cache_stats()

    def add_users(self, users: list[str], daily_limit: int) -> None:
        primary = self.database.primary()
        for user in users:
            primary.query(ADD_USER, (user, daily_limit))

    def lookups_today(self, user: str, day: str) -> int:
        [(count,)] = self.database.primary().query(USAGE_OF_DAY, (user, day))
        return count


ADD_USER = "INSERT INTO profiles (user_id, daily_lookups) VALUES (%s, %s)"
# The user's lookups of one UTC day, as the service counts them for its quota.
USAGE_OF_DAY = (
    "SELECT count(*) FROM lookups"
    " WHERE user_id = %s AND looked_up_at >= (%s::date)::timestamp AT TIME ZONE 'UTC'"
)
