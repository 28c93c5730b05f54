"""The service configuration's `exports` section: validated, every error naming its key."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from reference.config import ConfigError, load_config

EXPORTS = {
    "endpoint_url": "http://127.0.0.1:9000/",
    "region": "ap-southeast-1",
    "access_key": "drill",
    "secret_key": "drill-secret",
    "bucket": "glancy-exports",
}


def write(tmp_path: Path, **sections: object) -> Path:
    path = tmp_path / "cfg.json"
    base = {"database": {"dsn": "host=x"}, "redis": {"url": "redis://x"}}
    path.write_text(json.dumps(base | sections))
    return path


def test_exports_section_is_optional_and_read_with_defaults(tmp_path):
    assert load_config(write(tmp_path)).exports is None
    exports = load_config(write(tmp_path, exports=EXPORTS)).exports
    assert exports.endpoint_url == "http://127.0.0.1:9000"
    assert (exports.timeout_s, exports.snapshot_interval_s) == (2.0, 300.0)
    # snapshots (and the stream entries they need) kept the seed's 7 days
    assert (exports.snapshot_retention_s, exports.consumer_idle_limit_s) == (604_800.0, 600.0)


def test_queue_limits_are_read_from_the_exports_section(tmp_path):
    limits = {"snapshot_retention_s": 2, "consumer_idle_limit_s": 0.5}
    exports = load_config(write(tmp_path, exports=EXPORTS | limits)).exports
    assert (exports.snapshot_retention_s, exports.consumer_idle_limit_s) == (2.0, 0.5)


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"bucket": None}, "'exports.bucket' is missing"),
        ({"endpoint_url": "127.0.0.1:9000"}, "'exports.endpoint_url' must be an http://"),
        ({"snapshot_interval_s": 0}, "'exports.snapshot_interval_s' must be greater than 0"),
        ({"link_ttl_s": "1h"}, "'exports.link_ttl_s' must be of type int"),
        ({"snapshot_retention_s": 0}, "'exports.snapshot_retention_s' must be greater than 0"),
        ({"consumer_idle_limit_s": -1}, "'exports.consumer_idle_limit_s' must not be negative"),
    ],
)
def test_bad_exports_config_names_the_key(tmp_path, change, message):
    exports = {k: v for k, v in (EXPORTS | change).items() if v is not None}
    path = write(tmp_path, exports=exports)
    with pytest.raises(ConfigError, match=re.escape(f"config {path}: key {message}")):
        load_config(path)


def test_the_harness_names_the_queue_as_the_service_does():
    from drillbook.stack import export_worker as harness
    from reference import export_worker, exports

    assert (harness.STREAM, harness.GROUP) == (exports.STREAM, exports.GROUP)
    assert harness.consumer_name(4242) == export_worker.consumer_name(4242)
