"""How long each drill takes on the embedded environment, from pytest's JUnit XML. Prints JSON.

Usage: .venv/bin/python benchmarks/drill_time.py [feature paths...]   (default: features/)
"""

from __future__ import annotations

import json
import subprocess
import sys
import tempfile
import time
import xml.etree.ElementTree as ET
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def main() -> None:
    targets = sys.argv[1:] or ["features/"]
    with tempfile.TemporaryDirectory() as tmp:
        junit = Path(tmp) / "junit.xml"
        started = time.monotonic()
        result = subprocess.run(
            [
                sys.executable,
                "-m",
                "pytest",
                "-q",
                f"--junitxml={junit}",
                "--dr-reports",
                str(Path(tmp) / "reports"),
                *targets,
            ],
            cwd=ROOT,
            capture_output=True,
            text=True,
            timeout=900,
        )
        wall = time.monotonic() - started
        cases = [
            {
                "drill": f"{case.get('classname')}::{case.get('name')}",
                "seconds": float(case.get("time", 0)),
                "passed": not any(child.tag in ("failure", "error") for child in case),
            }
            for case in ET.parse(junit).getroot().iter("testcase")
        ]
    print(
        json.dumps(
            {
                "benchmark": "drill_time",
                "targets": targets,
                "exit_code": result.returncode,
                "wall_s": wall,
                "slowest_drill_s": max((c["seconds"] for c in cases), default=None),
                "drills": cases,
            },
            indent=2,
        )
    )


if __name__ == "__main__":
    main()
