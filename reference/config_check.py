"""The published configuration, checked as a config-center client checks a release: plan
section 2's signals of the configuration and secrets row, "Config 校验失败" and
"密钥轮换即将过期".

A replica applies its configuration as it starts. Its Deployment publishes a new one in the
same file, and every `config_check_s` the replica reads that file: a content it has not seen is
one check, validated as a whole the way the replica's own start validated it
(reference.config). The replica keeps serving what it loaded either way, so a release that fails
its check breaks nothing until a restart would, which is what the page is for.

Each check has a trace id: the release's own (its `trace_id` key, set by whoever published it),
else a new one. It is logged with the check's outcome and labels the series that says when the
check ran, so a page sends a responder to the log line naming the key at fault. The expiry of
each secret is the last release that passed its check's: a release that failed says nothing
trustworthy about its keys.
"""

from __future__ import annotations

import asyncio
import json
import logging
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

from prometheus_client.core import GaugeMetricFamily
from prometheus_client.registry import Collector

from reference.config import TRACE_ID, ConfigError, parse_config

log = logging.getLogger("reference.config_check")


class ConfigCheck(Collector):
    """The replica's checks of the configuration published at `path`."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._seen: str | None = None
        self.passed = True
        self.trace = ""
        self.checked_at = 0.0
        self.key_expiry: dict[str, float] = {}

    def check(self) -> None:
        """Read the published configuration and check it if it changed since the last check."""
        try:
            text = self.path.read_text(encoding="utf-8")
            unreadable = None
        except (OSError, UnicodeDecodeError) as exc:
            problem = exc.strerror if isinstance(exc, OSError) else "not UTF-8 text"
            text, unreadable = f"\0{problem}", problem
        if text == self._seen:
            return
        self._seen, self.checked_at = text, time.time()
        try:
            if unreadable:
                raise ConfigError(f"config {self.path}: cannot read file: {unreadable}")
            config = parse_config(self.path, text)
        except ConfigError as exc:
            self.passed, self.trace = False, _release_trace(text)
            log.error("configuration check failed, trace_id=%s: %s", self.trace, exc)
            return
        self.passed, self.trace = True, config.trace_id or uuid.uuid4().hex
        self.key_expiry = config.key_expiry
        log.info(
            "configuration check passed, trace_id=%s; keys expire: %s",
            self.trace,
            ", ".join(f"{key} at {at:.0f}" for key, at in sorted(self.key_expiry.items()))
            or "none declared",
        )

    async def run(self, every_s: float) -> None:
        """Check every `every_s` until cancelled. A check that fails in a way of its own is a
        failed check, logged, and the next one still runs: a check that stopped would leave
        the replica reporting its last outcome for ever."""
        while True:
            try:
                self.check()
            except Exception:
                self.passed = False
                log.exception("configuration check of %s broke", self.path)
            await asyncio.sleep(every_s)

    def collect(self) -> Iterator[GaugeMetricFamily]:
        ok = GaugeMetricFamily(
            "glancy_config_check_ok",
            "1 when the configuration published now passed this replica's check, else 0.",
        )
        ok.add_metric([], 1.0 if self.passed else 0.0)
        yield ok
        checked = GaugeMetricFamily(
            "glancy_config_last_check_timestamp_seconds",
            "When this replica checked the configuration published now, labelled with the "
            "check's trace id.",
            labels=["trace_id"],
        )
        if self.trace:
            checked.add_metric([self.trace], self.checked_at)
        yield checked
        expiry = GaugeMetricFamily(
            "glancy_key_expiry_timestamp_seconds",
            "When each secret expires, as the last configuration that passed the check says.",
            labels=["key"],
        )
        for key, at in sorted(self.key_expiry.items()):
            expiry.add_metric([key], at)
        yield expiry


def _release_trace(text: str) -> str:
    """The trace id a release that failed its check declares, if it is JSON enough to say."""
    try:
        data = json.loads(text)
    except json.JSONDecodeError:
        data = None
    trace = data.get("trace_id") if isinstance(data, dict) else None
    return trace if isinstance(trace, str) and TRACE_ID.match(trace) else uuid.uuid4().hex
