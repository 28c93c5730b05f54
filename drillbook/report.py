"""`python -m drillbook.report`: the HTML report of the last run and a line per drill.

The Allure 3 command line (installed from the npm registry into node_modules) turns the
results into a single-file HTML report; the summary reads the ledger entries of the run.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
RUN_INDEX = "last-run.jsonl"


def generate_html(results: Path, output: Path, timeout_s: float = 120) -> Path:
    allure = ROOT / "node_modules" / ".bin" / "allure"
    if not allure.exists():
        raise SystemExit(f"{allure} is missing: run scripts/setup.sh to install the Allure CLI")
    if not results.is_dir() or not any(results.iterdir()):
        raise SystemExit(f"no Allure results in {results}: run the drills with --alluredir first")
    subprocess.run(
        [
            str(allure),
            "generate",
            str(results),
            "--config",
            str(ROOT / "allurerc.mjs"),
            "--output",
            str(output),
        ],
        cwd=ROOT,
        check=True,
        timeout=timeout_s,
        stdout=subprocess.DEVNULL,
    )
    return output / "index.html"


def summary_lines(reports: Path) -> list[str]:
    index = reports / RUN_INDEX
    if not index.exists():
        return ["no drill ran in the last run"]
    lines = []
    for row in index.read_text(encoding="utf-8").splitlines():
        entry = json.loads(Path(json.loads(row)["ledger"]).read_text(encoding="utf-8"))
        lines.append(summary_line(entry))
    return lines


def summary_line(entry: dict) -> str:
    shown = [
        f"{name} {figure_text(f['figure'], f['unit'])}" for name, f in entry["figures"].items()
    ]
    drill = Path(entry["script"].split(":")[0]).stem
    head = f"{entry['id']}  {entry['verdict'].upper():4}  {drill}: {entry['scenario']}"
    return "  ".join([head, *shown])


def figure_text(value: float | None, unit: str) -> str:
    if value is None:
        return "not measured"
    return f"{value:.2f} {unit}" if unit == "s" else f"{value:g} {unit}"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--results", type=Path, default=ROOT / "reports" / "allure-results")
    parser.add_argument("--reports", type=Path, default=ROOT / "reports")
    args = parser.parse_args(argv)
    html = generate_html(args.results, args.reports / "allure-report")
    for line in summary_lines(args.reports):
        print(line)
    print(f"Allure report: {html}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
