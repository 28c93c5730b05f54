"""The front door's access log counted by mtail (environments/exporters/mtail): each request
by endpoint, method and status, what the RTO by Prometheus at the front door reads; a line of
another format counts nowhere."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

from prometheus_client.parser import text_string_to_metric_families

from drillbook.stack.monitoring import MTAIL_PROGRAMS

# as nginx writes them in the router's `outcomes` format: $msec $status $request_method
# $endpoint $request_time
LINES = [
    "1796402958.415 200 GET /lookup 0.063",
    "1796402958.474 200 GET /history 0.028",
    "1796402960.512 502 GET /lookup 0.001",
    "1796402962.470 499 GET /history 2.000",
    "1796402962.480 200 GET /exports/{task_id} 0.004",
    '127.0.0.1 - - [04/Dec/2026:17:20:32 +0000] "GET /lookup HTTP/1.1" 200 12 "-" "-"',
]


def counted(tmp_path: Path, lines: list[str]) -> dict[tuple[str, str, str], float]:
    binary = shutil.which("mtail")
    assert binary, "mtail is not installed: scripts/setup.sh installs Debian's mtail"
    log = tmp_path / "front-access.log"
    log.write_text("".join(f"{line}\n" for line in lines))
    done = subprocess.run(
        [binary, "-one_shot", "-one_shot_format=prometheus", f"-progs={MTAIL_PROGRAMS}"]
        + [f"-logs={log}", "-logtostderr"],
        capture_output=True,
        text=True,
        timeout=30,
        check=True,
    )
    return {
        (s.labels["endpoint"], s.labels["method"], s.labels["status"]): s.value
        for family in text_string_to_metric_families(done.stdout)
        for s in family.samples
        if s.name == "front_door_http_requests_total"
    }


def test_each_request_is_counted_by_endpoint_method_and_status(tmp_path):
    assert counted(tmp_path, LINES) == {
        ("/lookup", "GET", "200"): 1,
        ("/history", "GET", "200"): 1,
        ("/lookup", "GET", "502"): 1,
        ("/history", "GET", "499"): 1,
        ("/exports/{task_id}", "GET", "200"): 1,
    }


def test_a_log_in_another_format_counts_nothing(tmp_path):
    assert counted(tmp_path, LINES[-1:]) == {}
