"""`python -m drillbook.evidence verify [LEDGER_DIR]`: check a ledger folder's hash chain.

Prints one line per entry and exits 0 when the chain is intact, 1 when an entry was altered,
removed or reordered or a Markdown file does not match its JSON, 2 on usage errors.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from drillbook.evidence.chain import verify_chain

DEFAULT_LEDGER = Path("reports") / "ledger"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m drillbook.evidence", description=__doc__.splitlines()[0]
    )
    commands = parser.add_subparsers(dest="command", required=True)
    verify = commands.add_parser("verify", help="verify the hash chain of a ledger folder")
    verify.add_argument(
        "ledger_dir",
        nargs="?",
        type=Path,
        default=DEFAULT_LEDGER,
        help=f"the ledger folder (default: {DEFAULT_LEDGER})",
    )
    args = parser.parse_args(argv)
    if not args.ledger_dir.is_dir():
        verify.error(f"ledger folder {args.ledger_dir} does not exist or is not a folder")
    report = verify_chain(args.ledger_dir)
    for line in report.lines():
        print(line)
    return 0 if report.ok else 1


if __name__ == "__main__":
    sys.exit(main())
