import base64
import json
import re

import pytest

from drillbook.report import ROOT, main, strip_remote, summary_line

# What would make a browser fetch from another host: a src/href to http(s):// or //host.
REMOTE_REFERENCE = re.compile(r"""(src|href)=["']?(https?:)?//""", re.IGNORECASE)

SAMPLE = """<!DOCTYPE html>
<html>
<head>
  <link rel="icon" href="data:image/svg+xml,%3Csvg xmlns='http://www.w3.org/2000/svg'%3E">
  <link rel="stylesheet" href="//cdn.example.com/theme.css">
  <LINK rel=preconnect href=https://fonts.example.com>
  <script>window.allureReportOptions = {"jobUrl": "https://ci.example.com/job/1"};</script>
</head>
<body>
  <img src='http://tracker.example.com/pixel.gif' alt="">
  <img src="data/attachments/chart.png" alt="chart">
  <img srcset="small.png 1x, https://cdn.example.com/big.png 2x">
  <noscript><iframe src="https://www.googletagmanager.com/ns.html?id=GTM-X"></iframe></noscript>
  <script src="data:text/javascript;base64,//8AAA=="></script>
  <script async src="https://www.googletagmanager.com/gtag/js?id=G-TEST"></script>
  <script>
    window.dataLayer = window.dataLayer || [];
    function gtag(){dataLayer.push(arguments);}
    gtag('js', new Date());
  </script>
  <script>var s = document.createElement("script"); s.src = "https://cdn.example.com/x.js";</script>
  <script>window.allureReportData = {}; d("data/test-results/1.json", "eyJ9");</script>
  <a href="https://allurereport.org">Powered by</a>
</body>
</html>
"""


def test_strip_remote_removes_what_would_load_from_another_host():
    html = strip_remote(SAMPLE)
    for gone in (
        "//cdn.example.com/theme.css",
        "fonts.example.com",
        "tracker.example.com",
        "cdn.example.com/big.png",
        "googletagmanager",
        "gtag",
        "dataLayer",
        "cdn.example.com/x.js",
    ):
        assert gone not in html, gone
    # a link the reader would have to click loads nothing by itself
    assert REMOTE_REFERENCE.findall(re.sub(r"<a\s[^>]*>", "<a>", html)) == []


def test_strip_remote_keeps_data_uris_local_paths_and_the_page_own_code():
    html = strip_remote(SAMPLE)
    for kept in (
        """<link rel="icon" href="data:image/svg+xml,%3Csvg xmlns='http://www.w3.org/2000/svg'""",
        # a data URI whose payload starts with // is not a protocol-relative URL
        '<script src="data:text/javascript;base64,//8AAA=="></script>',
        # inline code that only mentions a URL loads nothing
        'window.allureReportOptions = {"jobUrl": "https://ci.example.com/job/1"};',
        '<img src="data/attachments/chart.png" alt="chart">',
        'window.allureReportData = {}; d("data/test-results/1.json", "eyJ9");',
        '<a href="https://allurereport.org">Powered by</a>',
        "<noscript></noscript>",
    ):
        assert kept in html, kept
    assert html.startswith("<!DOCTYPE html>") and html.rstrip().endswith("</html>")


def test_strip_remote_leaves_a_page_without_remote_references_unchanged():
    once = strip_remote(SAMPLE)
    assert strip_remote(once) == once


def test_summary_line_prints_each_figure_as_its_check_worded_it():
    entry = {
        "id": "2026-01-001",
        "verdict": "fail",
        "script": "features/2_pitr.feature:12",
        "scenario": "PITR",
        "figures": {
            "RTO (line 20)": {"check": "RTO", "shown": "no outage observed", "figure": None},
            "RPO (line 21)": {"check": "RPO", "shown": "0.42 s", "figure": 0.42, "unit": "s"},
        },
    }
    assert summary_line(entry) == (
        "2026-01-001  FAIL  2_pitr: PITR  RTO no outage observed  RPO 0.42 s"
    )


def test_summary_line_prints_an_entry_written_before_figures_were_worded():
    """Keyed by the check's name, with the bare figure and unit: it still prints."""
    entry = {
        "id": "2025-12-001",
        "verdict": "pass",
        "script": "features/2_pitr.feature:12",
        "scenario": "PITR",
        "figures": {
            "RTO": {"figure": 12.3456, "unit": "s", "threshold": 1800.0, "passed": True},
            "lost writes": {"figure": 0, "unit": "writes", "threshold": 0, "passed": True},
            "RPO": {"figure": None, "unit": "s", "threshold": 1.0, "passed": False},
        },
    }
    assert summary_line(entry) == (
        "2025-12-001  PASS  2_pitr: PITR  RTO 12.35 s  lost writes 0 writes  RPO not measured"
    )


ALLURE = ROOT / "node_modules" / ".bin" / "allure"


@pytest.mark.skipif(not ALLURE.exists(), reason="Allure CLI not installed (scripts/setup.sh)")
def test_the_generated_report_references_no_remote_url_and_keeps_its_data(tmp_path, capsys):
    results = tmp_path / "allure-results"
    results.mkdir()
    uuid = "0a1b2c3d-0000-4000-8000-000000000001"
    result = {
        "uuid": uuid,
        "historyId": "probe-history",
        "testCaseId": "probe-case",
        "fullName": "drills.probe",
        "name": "a probe drill",
        "status": "passed",
        "stage": "finished",
        "start": 1767225600000,
        "stop": 1767225601000,
        "labels": [{"name": "feature", "value": "probe"}],
    }
    (results / f"{uuid}-result.json").write_text(json.dumps(result), encoding="utf-8")

    assert main(["--results", str(results), "--reports", str(tmp_path)]) == 0

    index = tmp_path / "allure-report" / "index.html"
    assert f"Allure report: {index}" in capsys.readouterr().out
    html = index.read_text(encoding="utf-8")
    assert REMOTE_REFERENCE.findall(html) == []
    assert "googletagmanager" not in html.lower()
    # still the single-file report: its code inlined, its data with the test result in it
    assert re.search(r'<script\s+src="data:text/javascript;base64,', html)
    assert "window.allureReportData" in html
    data = re.findall(r'd\("data/test-results/[^"]+",\s*"([A-Za-z0-9+/=]+)"\)', html)
    assert [json.loads(base64.b64decode(item))["name"] for item in data] == ["a probe drill"]
