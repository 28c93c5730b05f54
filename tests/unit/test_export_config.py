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


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"bucket": None}, "'exports.bucket' is missing"),
        ({"endpoint_url": "127.0.0.1:9000"}, "'exports.endpoint_url' must be an http://"),
        ({"snapshot_interval_s": 0}, "'exports.snapshot_interval_s' must be greater than 0"),
        ({"link_ttl_s": "1h"}, "'exports.link_ttl_s' must be of type int"),
    ],
)
def test_bad_exports_config_names_the_key(tmp_path, change, message):
    exports = {k: v for k, v in (EXPORTS | change).items() if v is not None}
    path = write(tmp_path, exports=exports)
    with pytest.raises(ConfigError, match=re.escape(f"config {path}: key {message}")):
        load_config(path)
