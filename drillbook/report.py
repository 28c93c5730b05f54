"""`python -m drillbook.report`: the HTML report of the last run and a line per drill.

The Allure 3 command line (installed from the npm registry into node_modules) turns the
results into a single-file HTML report; the summary reads the ledger entries of the run.
Opening the report contacts nobody: what Allure adds that would load from another host (its
analytics tag) is removed from the file.
"""

from __future__ import annotations

import argparse
import json
import re
import subprocess
import sys
from html.parser import HTMLParser
from pathlib import Path

from drillbook.checks.result import NOT_MEASURED, figure_text

ROOT = Path(__file__).resolve().parent.parent
RUN_INDEX = "last-run.jsonl"

# Elements that fetch what their src/href/... names as soon as the page is opened.
LOADING = {
    "script": True,  # element name: True when it has content and an end tag
    "iframe": True,
    "frame": False,
    "object": True,
    "audio": True,
    "video": True,
    "img": False,
    "link": False,
    "embed": False,
    "source": False,
    "track": False,
}
URL_ATTRIBUTES = ("src", "href", "srcset", "data", "poster")
REMOTE = re.compile(r"^\s*(?:https?:)?//", re.IGNORECASE)
# An inline script that loads a remote one: an analytics snippet, or a src set to a remote URL.
REMOTE_LOADER = re.compile(
    r"googletagmanager\.com|google-analytics\.com|\bgtag\(|\bdataLayer\b"
    r"|\.src\s*=\s*[\"'`](?:https?:)?//",
    re.IGNORECASE,
)


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
    index = output / "index.html"
    index.write_text(strip_remote(index.read_text(encoding="utf-8")), encoding="utf-8")
    return index


def strip_remote(html: str) -> str:
    """`html` without the elements that would load something from another host when opened:
    a script, link, img, iframe... whose src/href is http(s):// or protocol-relative (//host),
    and an inline script that loads one (an analytics snippet). Data URIs, relative paths and
    the page's own inline code are kept; links a reader has to click (<a href>) are kept."""
    finder = _RemoteFinder(html)
    finder.feed(html)
    finder.close()
    kept, end = [], 0
    for start, stop in sorted(finder.spans):
        if start >= end:  # not inside an element removed already
            kept.append(html[end:start])
            end = stop
    kept.append(html[end:])
    return "".join(kept)


class _RemoteFinder(HTMLParser):
    """Collects the spans (start tag to end tag, by character offset) of the elements to
    remove."""

    def __init__(self, html: str) -> None:
        super().__init__(convert_charrefs=True)
        self.html = html
        self.line_starts = [0] + [m.end() for m in re.finditer("\n", html)]
        self.spans: list[tuple[int, int]] = []
        self.opened: list[tuple[str, int, int, bool]] = []  # tag, start, body start, remote

    def close(self) -> None:
        super().close()
        # an element never closed: its start tag alone
        self.spans += [(start, body) for _tag, start, body, remote in self.opened if remote]

    def position(self) -> int:
        line, column = self.getpos()
        return self.line_starts[line - 1] + column

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag not in LOADING:
            return
        start = self.position()
        body = start + len(self.get_starttag_text() or "")
        remote = any(
            REMOTE.match(url)
            for name, value in attrs
            if name in URL_ATTRIBUTES and value
            # a srcset lists several URLs; a data: URI holds commas of its own
            for url in (value.split(",") if name == "srcset" else [value])
        )
        if LOADING[tag]:
            self.opened.append((tag, start, body, remote))
        elif remote:
            self.spans.append((start, body))

    def handle_endtag(self, tag: str) -> None:
        tags = [entry[0] for entry in self.opened]
        if tag not in tags:
            return
        depth = len(tags) - 1 - tags[::-1].index(tag)
        _tag, start, body, remote = self.opened[depth]
        del self.opened[depth:]
        end_tag = self.position()
        if remote or (tag == "script" and REMOTE_LOADER.search(self.html, body, end_tag)):
            self.spans.append((start, self.html.index(">", end_tag) + 1))


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
    """The drill's id, verdict and name, then each figure as its check worded it. An entry
    written before figures named their check and their wording is keyed by the check's name
    and holds the bare figure and unit."""
    shown = [f"{f.get('check', name)} {figure_shown(f)}" for name, f in entry["figures"].items()]
    drill = Path(entry["script"].split(":")[0]).stem
    head = f"{entry['id']}  {entry['verdict'].upper():4}  {drill}: {entry['scenario']}"
    if entry.get("aborted"):
        head += f" ({entry['aborted']})"
    return "  ".join([head, *shown])


def figure_shown(figure: dict) -> str:
    """How the figure reads: its check's own wording, else the number with its unit."""
    if figure.get("shown"):
        return figure["shown"]
    if figure.get("figure") is None:
        return NOT_MEASURED
    return figure_text(figure["figure"], figure.get("unit", ""))


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
