"""Plan section 2's configuration and secrets row: a replica's check of the releases published
to it, the keys' expiry it reads, and how the local stack publishes a release."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path

import pytest
from prometheus_client import CollectorRegistry, generate_latest
from prometheus_client.parser import text_string_to_metric_families

from drillbook.capabilities.service import expiry_changes
from drillbook.stack.service import with_changes
from reference.config import ConfigError, load_config
from reference.config_check import ConfigCheck

RELEASE = "4bf92f3577b34da6a3ce929d0e0e4736"
EXPIRES = "2027-03-05T00:00:00+00:00"
BASE = {
    "database": {"dsn": "postgresql://app@db/glancy"},
    "redis": {"url": "redis://cache:6379/0"},
    "billing": {"provider_url": "http://pay", "callback_secret": "s3cret"},
}


def publish(path: Path, config: dict) -> Path:
    path.write_text(json.dumps(config), encoding="utf-8")
    return path


def samples(check: ConfigCheck) -> dict[str, list]:
    registry = CollectorRegistry()
    registry.register(check)
    text = generate_latest(registry).decode()
    return {
        family.name: [(s.labels, s.value) for s in family.samples]
        for family in text_string_to_metric_families(text)
    }


def test_a_release_that_passes_is_checked_under_its_own_trace_and_declares_its_keys(tmp_path):
    expiring = with_changes(BASE, {"key_expiry.billing.callback_secret": EXPIRES})
    check = ConfigCheck(publish(tmp_path / "c.json", {**expiring, "trace_id": RELEASE}))
    check.check()
    seen = samples(check)
    assert seen["glancy_config_check_ok"] == [({}, 1.0)]
    [(labels, _)] = seen["glancy_config_last_check_timestamp_seconds"]
    assert labels == {"trace_id": RELEASE}
    assert seen["glancy_key_expiry_timestamp_seconds"] == [
        ({"key": "billing.callback_secret"}, 1804204800.0)
    ]


def test_a_release_that_fails_is_reported_and_the_last_good_keys_are_kept(tmp_path, caplog):
    path = tmp_path / "c.json"
    check = ConfigCheck(
        publish(path, with_changes(BASE, expiry_changes(["billing.callback_secret"], 0)))
    )
    check.check()
    publish(path, {**with_changes(BASE, {"database.pool_max": 0}), "trace_id": RELEASE})
    with caplog.at_level("INFO", "reference.config_check"):
        check.check()
    seen = samples(check)
    assert seen["glancy_config_check_ok"] == [({}, 0.0)]
    assert seen["glancy_config_last_check_timestamp_seconds"][0][0] == {"trace_id": RELEASE}
    assert seen["glancy_key_expiry_timestamp_seconds"] == [
        ({"key": "billing.callback_secret"}, 0.0)
    ]
    assert f"trace_id={RELEASE}" in caplog.text and "'database.pool_max'" in caplog.text


def test_a_release_is_checked_once_and_one_that_is_not_json_gets_a_trace_of_its_own(tmp_path):
    path = publish(tmp_path / "c.json", BASE)
    check = ConfigCheck(path)
    check.check()
    first = check.trace
    check.check()
    assert check.trace == first and check.passed
    path.write_text("{not json", encoding="utf-8")
    check.check()
    assert not check.passed and check.trace != first and len(check.trace) == 32
    path.unlink()
    check.check()
    assert not check.passed


@pytest.mark.parametrize(
    ("expiry", "problem"),
    [
        ({"billing": {"nothing": EXPIRES}}, "'key_expiry.billing.nothing' names no secret"),
        ({"billing": {"callback_secret": "2027-03-05"}}, "with its offset"),
    ],
)
def test_an_expiry_of_no_secret_or_without_an_offset_is_refused(tmp_path, expiry, problem):
    with pytest.raises(ConfigError, match=problem):
        load_config(publish(tmp_path / "c.json", {**BASE, "key_expiry": expiry}))


def test_a_release_trace_that_is_no_trace_id_is_refused(tmp_path):
    with pytest.raises(ConfigError, match="'trace_id' must be a W3C trace id"):
        load_config(publish(tmp_path / "c.json", {**BASE, "trace_id": "release-7"}))


def test_changes_set_dotted_keys_on_a_copy_and_refuse_a_value_taken_for_a_section():
    changed = with_changes(BASE, {"database.pool_max": 0, "key_expiry.redis.url": EXPIRES})
    assert changed["database"]["pool_max"] == 0
    assert changed["key_expiry"] == {"redis": {"url": EXPIRES}}
    assert "pool_max" not in BASE["database"]
    with pytest.raises(ValueError, match="'database.dsn.user': 'dsn' is not a section"):
        with_changes(BASE, {"database.dsn.user": "x"})


def test_a_release_that_is_not_text_fails_its_check(tmp_path):
    path = tmp_path / "c.json"
    path.write_bytes(b"\xff\xfe{}")
    check = ConfigCheck(path)
    check.check()
    assert not check.passed


def test_an_error_names_a_secret_but_never_shows_its_value(tmp_path):
    wrong = with_changes(BASE, {"billing.callback_secret": 271828})
    with pytest.raises(ConfigError) as raised:
        load_config(publish(tmp_path / "c.json", wrong))
    assert "'billing.callback_secret' must be of type str" in str(raised.value)
    assert "271828" not in str(raised.value)


def test_a_check_that_breaks_is_a_failed_check_and_the_checks_go_on(tmp_path, monkeypatch):
    check = ConfigCheck(publish(tmp_path / "c.json", BASE))
    calls = []

    def broken() -> None:
        calls.append(1)
        if len(calls) == 3:
            raise asyncio.CancelledError  # the replica stops: the loop ends
        raise RuntimeError("unexpected")

    monkeypatch.setattr(check, "check", broken)
    with pytest.raises(asyncio.CancelledError):
        asyncio.run(check.run(0.0))
    assert len(calls) == 3 and not check.passed
