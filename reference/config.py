"""Typed service configuration read from a JSON file.

Every error names the file and the dotted key at fault, e.g.
``config /tmp/x/cfg.json: key 'database.dsn' is missing``.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

_MISSING = object()


class ConfigError(Exception):
    """The configuration file is unreadable or a key is missing or malformed."""


@dataclass(frozen=True)
class DatabaseConfig:
    dsn: str
    pool_min: int = 1
    pool_max: int = 8
    pool_timeout_s: float = 1.0
    connect_timeout_s: int = 1
    statement_timeout_ms: int = 2000


@dataclass(frozen=True)
class RedisConfig:
    url: str
    socket_timeout_s: float = 0.5


@dataclass(frozen=True)
class BreakerConfig:
    # disabled: every call goes to the LLM and waits its timeout (the no-breaker baseline)
    enabled: bool = True
    failure_threshold: int = 3
    window_s: float = 10.0
    open_s: float = 2.0
    half_open_probes: int = 1


@dataclass(frozen=True)
class LlmConfig:
    url: str
    model: str = "doubao-lite"
    timeout_s: float = 0.8
    breaker: BreakerConfig = BreakerConfig()


@dataclass(frozen=True)
class BudgetConfig:
    monthly_tokens: int = 100_000
    warn_pct: float = 80.0
    disable_pct: float = 95.0


@dataclass(frozen=True)
class QuotaConfig:
    # Lookups per user and UTC day; a user's profiles.daily_lookups overrides it.
    daily_lookups: int = 10_000


@dataclass(frozen=True)
class ExportsConfig:
    """The export chain: the artifact bucket and the task queue's offset snapshots."""

    endpoint_url: str
    region: str
    access_key: str
    secret_key: str
    bucket: str
    # every object-storage call (connect, then read) is bounded by this
    timeout_s: float = 2.0
    link_ttl_s: int = 3600
    # the plan snapshots the queue offsets every 5 min; locally every few seconds
    snapshot_interval_s: float = 300.0
    # a delivered task idle this long is taken as interrupted by a replay
    replay_min_idle_s: float = 30.0
    # offset snapshots are kept this long (the seed keeps the replay logs 7 days), and the
    # stream keeps every entry a replay from one of them could read
    snapshot_retention_s: float = 7 * 24 * 3600.0
    # a consumer that has not read for this long and holds no entry is removed from the group
    consumer_idle_limit_s: float = 600.0


@dataclass(frozen=True)
class BillingConfig:
    """The payment provider: where checkouts charge and reconciliation reads its records, and
    the secret its callbacks are signed with."""

    provider_url: str
    callback_secret: str
    # every call to the provider (connect, then read) is bounded by this
    timeout_s: float = 2.0


@dataclass(frozen=True)
class ServiceConfig:
    database: DatabaseConfig
    redis: RedisConfig
    host: str = "127.0.0.1"
    port: int = 8080
    cache_ttl_s: int = 300
    # The replica's own cache in front of Redis (L1): how long an entry serves, 0 for none;
    # and whether lookups skip it and read Redis (L2) alone, runbook 5.1 step 3's 强制 L2.
    l1_cache_ttl_s: float = 0.0
    force_l2: bool = False
    llm: LlmConfig | None = None  # None: lookups answer from the database alone
    budget: BudgetConfig = BudgetConfig()
    quota: QuotaConfig = QuotaConfig()
    # The release a replica runs; the June drill rolls replicas from one to the other.
    version: str = "v1"
    exports: ExportsConfig | None = None  # None: no /exports endpoints
    # The region the replica runs in, as /healthz reports it (None: not said).
    region: str | None = None
    billing: BillingConfig | None = None  # None: no /billing endpoints
    # How often the replica checks the configuration published in its file (a config-center
    # client's check of a release, reference.config_check).
    config_check_s: float = 30.0
    # When each secret expires (dotted key -> epoch seconds), as the key service declares it:
    # plan section 2's 密钥轮换即将过期 is read from it.
    key_expiry: dict[str, float] = field(default_factory=dict)
    # The trace id of the release that published this configuration, which its check adopts.
    trace_id: str | None = None


class _Reader:
    """Reads typed keys from one JSON object, naming file and key in every error."""

    def __init__(self, path: Path, data: object, prefix: str = "") -> None:
        self.path, self.prefix = path, prefix
        if not isinstance(data, dict):
            self.fail(prefix.rstrip(".") or "<top level>", "must be a JSON object")
        self.data: dict[str, Any] = data

    def fail(self, key: str, problem: str) -> None:
        raise ConfigError(f"config {self.path}: key '{key}' {problem}")

    def get(self, key: str, kind: type, default: object = _MISSING) -> Any:
        name = self.prefix + key
        if key not in self.data:
            if default is _MISSING:
                self.fail(name, "is missing")
            return default
        value = self.data[key]
        accepted = (int, float) if kind is float else kind
        # bool is an int subclass: a `true` port is a mistake, not 1
        if (kind is not bool and isinstance(value, bool)) or not isinstance(value, accepted):
            wanted = "a number" if kind is float else f"of type {kind.__name__}"
            self.fail(name, f"must be {wanted}, got {_shown(name, value)}")
        if kind in (int, float) and value < 0:
            self.fail(name, f"must not be negative, got {value}")
        if kind is str and not value.strip():
            self.fail(name, "must not be empty")
        return float(value) if kind is float else value

    def url(self, key: str) -> str:
        """An http(s) URL, without a trailing slash."""
        url = self.get(key, str)
        if not url.startswith(("http://", "https://")):
            self.fail(
                self.prefix + key,
                f"must be an http:// or https:// URL, got {_shown(self.prefix + key, url)}",
            )
        return url.rstrip("/")

    def positive(self, key: str, kind: type, default: object = _MISSING) -> Any:
        value = self.get(key, kind, default)
        if value <= 0:
            self.fail(self.prefix + key, f"must be greater than 0, got {value}")
        return value

    def section(self, key: str, *, optional: bool = False) -> _Reader:
        """The nested object at key; an optional one that is absent reads as {} (all defaults)."""
        if key not in self.data:
            if not optional:
                self.fail(self.prefix + key, "is missing")
            return _Reader(self.path, {}, f"{self.prefix}{key}.")
        return _Reader(self.path, self.data[key], f"{self.prefix}{key}.")


# Keys whose values are, or may hold, credentials: an error names them, never their value (a
# release's check logs its error where the page's trace id sends a responder).
SECRET_KEYS = frozenset(
    {
        "database.dsn",
        "redis.url",
        "billing.callback_secret",
        "exports.access_key",
        "exports.secret_key",
    }
)


def _shown(key: str, value: object) -> str:
    return "a value not shown (a secret)" if key in SECRET_KEYS else json.dumps(value)


def load_config(path: str | Path) -> ServiceConfig:
    """Load and validate the service configuration from a JSON file."""
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise ConfigError(f"config {path}: cannot read file: {exc.strerror}") from None
    return parse_config(path, text)


def parse_config(path: Path, text: str) -> ServiceConfig:
    """Validate the configuration `text` read from `path` (named in every error)."""
    try:
        data = json.loads(text)
    except json.JSONDecodeError as exc:
        raise ConfigError(f"config {path}: invalid JSON at line {exc.lineno}: {exc.msg}") from None
    top = _Reader(path, data)
    db, redis = top.section("database"), top.section("redis")
    database = DatabaseConfig(
        dsn=db.get("dsn", str),
        pool_min=db.get("pool_min", int, 1),
        pool_max=db.get("pool_max", int, 8),
        pool_timeout_s=db.get("pool_timeout_s", float, 1.0),
        connect_timeout_s=db.get("connect_timeout_s", int, 1),
        statement_timeout_ms=db.get("statement_timeout_ms", int, 2000),
    )
    if not 0 < database.pool_min <= database.pool_max:
        db.fail("database.pool_max", "must be >= database.pool_min and both > 0")
    return ServiceConfig(
        database=database,
        redis=RedisConfig(
            url=redis.get("url", str), socket_timeout_s=redis.get("socket_timeout_s", float, 0.5)
        ),
        host=top.get("host", str, "127.0.0.1"),
        port=top.get("port", int, 8080),
        cache_ttl_s=top.get("cache_ttl_s", int, 300),
        l1_cache_ttl_s=top.get("l1_cache_ttl_s", float, 0.0),
        force_l2=top.get("force_l2", bool, False),
        llm=_llm(top.section("llm")) if "llm" in top.data else None,
        budget=_budget(top.section("budget", optional=True)),
        quota=QuotaConfig(
            daily_lookups=top.section("quota", optional=True).positive("daily_lookups", int, 10_000)
        ),
        version=_version(top),
        exports=_exports(top.section("exports")) if "exports" in top.data else None,
        region=top.get("region", str, None),
        billing=_billing(top.section("billing")) if "billing" in top.data else None,
        config_check_s=top.positive("config_check_s", float, 30.0),
        key_expiry=_key_expiry(top),
        trace_id=_trace_id(top),
    )


TRACE_ID = re.compile(r"^[0-9a-f]{32}$")


def _trace_id(top: _Reader) -> str | None:
    trace = top.get("trace_id", str, None)
    if trace is not None and not TRACE_ID.match(trace):
        top.fail("trace_id", f"must be a W3C trace id (32 hex digits), got {json.dumps(trace)}")
    return trace


def _key_expiry(top: _Reader) -> dict[str, float]:
    """Each secret's expiry, by its dotted key: `key_expiry` mirrors the configuration's
    sections, so {"billing": {"callback_secret": time}} is `billing.callback_secret`'s."""
    expiry = {}
    pending = [(top.section("key_expiry", optional=True), "")]
    while pending:
        section, under = pending.pop()
        for name, value in section.data.items():
            if isinstance(value, dict):
                pending.append((section.section(name), f"{under}{name}."))
            else:
                expiry[under + name] = _expiry(section, name, _dotted(top.data, under + name))
    return expiry


def _expiry(section: _Reader, name: str, secret: object) -> float:
    """The expiry `section` gives the secret `name`: one of this configuration's secrets (a
    non-empty string), at a time that says its offset."""
    when = section.get(name, str)
    if not isinstance(secret, str) or not secret.strip():
        section.fail(section.prefix + name, "names no secret of this configuration")
    try:
        at = datetime.fromisoformat(when)
    except ValueError:
        at = None
    if at is None or at.tzinfo is None:
        section.fail(
            section.prefix + name,
            f"must be an ISO 8601 time with its offset, got {json.dumps(when)}",
        )
    return at.timestamp()


def _dotted(data: object, key: str) -> object:
    """The value at the dotted `key` of nested objects, None when there is none."""
    for part in key.split("."):
        if not isinstance(data, dict) or part not in data:
            return None
        data = data[part]
    return data


def _billing(billing: _Reader) -> BillingConfig:
    return BillingConfig(
        provider_url=billing.url("provider_url"),
        callback_secret=billing.get("callback_secret", str),
        timeout_s=billing.positive("timeout_s", float, 2.0),
    )


VERSIONS = ("v1", "v2")


def _version(top: _Reader) -> str:
    version = top.get("version", str, "v1")
    if version not in VERSIONS:
        top.fail("version", f"must be one of {list(VERSIONS)}, got {json.dumps(version)}")
    return version


def _llm(llm: _Reader) -> LlmConfig:
    breaker = llm.section("breaker", optional=True)
    return LlmConfig(
        url=llm.url("url"),
        model=llm.get("model", str, "doubao-lite"),
        timeout_s=llm.positive("timeout_s", float, 0.8),
        breaker=BreakerConfig(
            enabled=breaker.get("enabled", bool, True),
            failure_threshold=breaker.positive("failure_threshold", int, 3),
            window_s=breaker.positive("window_s", float, 10.0),
            open_s=breaker.positive("open_s", float, 2.0),
            half_open_probes=breaker.positive("half_open_probes", int, 1),
        ),
    )


def _budget(budget: _Reader) -> BudgetConfig:
    config = BudgetConfig(
        monthly_tokens=budget.positive("monthly_tokens", int, 100_000),
        warn_pct=budget.positive("warn_pct", float, 80.0),
        disable_pct=budget.positive("disable_pct", float, 95.0),
    )
    if not config.warn_pct <= config.disable_pct <= 100:
        budget.fail("budget.disable_pct", "must be >= budget.warn_pct and <= 100")
    return config


def _exports(exports: _Reader) -> ExportsConfig:
    return ExportsConfig(
        endpoint_url=exports.url("endpoint_url"),
        region=exports.get("region", str),
        access_key=exports.get("access_key", str),
        secret_key=exports.get("secret_key", str),
        bucket=exports.get("bucket", str),
        timeout_s=exports.positive("timeout_s", float, 2.0),
        link_ttl_s=exports.positive("link_ttl_s", int, 3600),
        snapshot_interval_s=exports.positive("snapshot_interval_s", float, 300.0),
        replay_min_idle_s=exports.get("replay_min_idle_s", float, 30.0),
        snapshot_retention_s=exports.positive("snapshot_retention_s", float, 7 * 24 * 3600.0),
        consumer_idle_limit_s=exports.positive("consumer_idle_limit_s", float, 600.0),
    )
