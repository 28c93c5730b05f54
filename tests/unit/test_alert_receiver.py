"""The harness's Alertmanager receiver keeps each notification with its arrival, in memory and
in its journal, and lists those since an instant."""

from __future__ import annotations

import json
import threading
from http.server import ThreadingHTTPServer

import httpx
import pytest

from drillbook.stack.alert_receiver import Notifications, handler

PAYLOAD = {"status": "firing", "alerts": [{"status": "firing", "labels": {"alertname": "X"}}]}


@pytest.fixture
def receiver(tmp_path):
    journal = tmp_path / "notifications.jsonl"
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler(Notifications(journal)))
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}", journal
    server.shutdown()
    server.server_close()


def test_a_notification_is_listed_with_its_arrival_and_journaled(receiver):
    url, journal = receiver
    assert httpx.post(f"{url}/alerts", json=PAYLOAD, timeout=5).json() == {"recorded": 1}
    [listed] = httpx.get(f"{url}/notifications", timeout=5).json()
    assert listed["alerts"] == PAYLOAD["alerts"] and listed["received_at"] > 0
    assert json.loads(journal.read_text()) == listed
    later = listed["received_at"] + 1
    assert httpx.get(f"{url}/notifications", params={"since": later}, timeout=5).json() == []


def test_what_is_not_a_notification_is_refused_and_not_kept(receiver):
    url, journal = receiver
    answer = httpx.post(f"{url}/alerts", json={"status": "firing"}, timeout=5)
    assert answer.status_code == 400 and "not a notification" in answer.json()["error"]
    assert httpx.post(f"{url}/elsewhere", json=PAYLOAD, timeout=5).status_code == 404
    assert httpx.get(f"{url}/notifications", timeout=5).json() == []
    assert not journal.exists()


def test_a_since_that_is_not_a_number_is_refused_naming_it(receiver):
    url, _ = receiver
    answer = httpx.get(f"{url}/notifications", params={"since": "yesterday"}, timeout=5)
    assert answer.status_code == 400 and "since is not a number" in answer.json()["error"]
