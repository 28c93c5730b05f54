from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import allure
import allure_commons
import pytest

from drillbook.evidence import Evidence, sha256_file, sha256_hex
from drillbook.evidence.redact import MASK

# Run with --alluredir outside a scenario, Evidence warns that nothing reaches the report.
pytestmark = pytest.mark.filterwarnings("ignore:.*not added to the Allure report")

PNG_BYTES = b"\x89PNG\r\n\x1a\n" + b"\x00" * 32


class AllureCapture:
    """Stands in for the allure-pytest-bdd listener that ``--alluredir`` registers."""

    def __init__(self) -> None:
        self.attachments: list[dict[str, Any]] = []
        self.parameters: list[tuple[str, Any]] = []

    @allure_commons.hookimpl
    def attach_data(self, body, name, attachment_type, extension) -> None:
        self.attachments.append({"body": body, "name": name, "type": attachment_type})

    @allure_commons.hookimpl
    def add_parameter(self, name, value, excluded, mode) -> None:
        self.parameters.append((name, value))


@pytest.fixture
def capture():
    listener = AllureCapture()
    allure_commons.plugin_manager.register(listener)
    yield listener
    allure_commons.plugin_manager.unregister(listener)


def test_without_an_allure_listener_attaching_is_a_no_op() -> None:
    # the unit tests run without --alluredir: no listener answers the hooks
    evidence = Evidence()
    sha = evidence.attach_text("psql: SELECT 1", "1")
    evidence.parameter("RTO (s)", 12.4)
    assert sha == sha256_hex("1")
    assert evidence.items == [{"name": "psql: SELECT 1", "sha256": sha, "kind": "text"}]


def test_text_is_redacted_before_hashing_and_attaching(capture: AllureCapture) -> None:
    evidence = Evidence()
    sha = evidence.attach_text(
        "psql postgresql://glancy:hunter2@127.0.0.1/glancy", "PGPASSWORD=hunter2 psql\n(1 row)"
    )
    [attached] = capture.attachments
    assert attached["body"] == b"PGPASSWORD=*** psql\n(1 row)"
    assert sha == sha256_hex(attached["body"])
    assert attached["name"] == (
        f"psql postgresql://glancy:***@127.0.0.1/glancy [sha256:{sha[:12]}…]"
    )
    assert attached["type"] == allure.attachment_type.TEXT
    assert evidence.items[0]["name"] == "psql postgresql://glancy:***@127.0.0.1/glancy"
    assert len(evidence.items[0]["sha256"]) == 64


def test_json_masks_secret_keys(capture: AllureCapture) -> None:
    evidence = Evidence()
    sha = evidence.attach_json(
        "endpoints", {"pg": "postgresql://u:pw@h/db", "password": "pw", "rto_s": 12.4}
    )
    [attached] = capture.attachments
    assert json.loads(attached["body"]) == {
        "pg": "postgresql://u:***@h/db",
        "password": MASK,
        "rto_s": 12.4,
    }
    assert attached["type"] == allure.attachment_type.JSON
    assert evidence.items == [{"name": "endpoints", "sha256": sha, "kind": "json"}]


def test_png_and_files(capture: AllureCapture, tmp_path: Path) -> None:
    png = tmp_path / "timeline.png"
    png.write_bytes(PNG_BYTES)
    log = tmp_path / "az-a.log"
    log.write_text("connection to postgresql://postgres:pw@127.0.0.1:1/x failed\n")
    evidence = Evidence()
    png_sha = evidence.attach_png("timeline", png)
    file_png_sha = evidence.attach_file("timeline again", png)
    log_sha = evidence.attach_file("az-a.log", log)
    assert png_sha == file_png_sha == sha256_file(png)
    assert [a["type"] for a in capture.attachments] == [
        allure.attachment_type.PNG,
        allure.attachment_type.PNG,
        allure.attachment_type.TEXT,
    ]
    assert b"pw@" not in capture.attachments[2]["body"]
    assert log_sha == sha256_hex(capture.attachments[2]["body"])
    assert [i["kind"] for i in evidence.items] == ["png", "png", "text"]


def test_attach_png_rejects_other_files(tmp_path: Path) -> None:
    path = tmp_path / "not.png"
    path.write_text("password=x")
    with pytest.raises(ValueError, match="not.png is not a PNG"):
        Evidence().attach_png("chart", path)


def test_parameter_reaches_allure_redacted(capture: AllureCapture) -> None:
    evidence = Evidence()
    evidence.parameter("RTO (s)", 12.4)
    evidence.parameter("database", "postgresql://u:pw@h/db")
    assert capture.parameters == [("RTO (s)", 12.4), ("database", "postgresql://u:***@h/db")]


def test_items_is_a_copy() -> None:
    evidence = Evidence()
    evidence.attach_text("a", "b")
    evidence.items[0]["sha256"] = "tampered"
    evidence.items.clear()
    assert evidence.items[0]["sha256"] == sha256_hex("b")


class OutsideScenario:
    """allure-pytest-bdd's behaviour when called with no scenario running."""

    @allure_commons.hookimpl
    def attach_data(self, body, name, attachment_type, extension) -> None:
        raise KeyError(None)

    @allure_commons.hookimpl
    def add_parameter(self, name, value, excluded, mode) -> None:
        raise AttributeError("'NoneType' object has no attribute 'parameters'")


def test_outside_a_scenario_evidence_warns_and_still_records() -> None:
    listener = OutsideScenario()
    allure_commons.plugin_manager.register(listener)
    try:
        evidence = Evidence()
        with pytest.warns(RuntimeWarning, match="attachment 'log' not added"):
            sha = evidence.attach_text("log", "x")
        with pytest.warns(RuntimeWarning, match="parameter 'RTO' not added"):
            evidence.parameter("RTO", 1.0)
    finally:
        allure_commons.plugin_manager.unregister(listener)
    assert evidence.items == [{"name": "log", "sha256": sha, "kind": "text"}]
