"""``python -m reference --config path.json``: serve the reference service with uvicorn."""

from __future__ import annotations

import argparse
import logging
import sys

import uvicorn

from reference.app import create_app
from reference.config import ConfigError, load_config


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m reference", description=__doc__)
    parser.add_argument("--config", required=True, help="path of the JSON configuration file")
    args = parser.parse_args(argv)
    try:
        config = load_config(args.config)
    except ConfigError as exc:
        print(f"reference: {exc}", file=sys.stderr)
        return 2
    # the pool's and the service's own warnings, with the time they happened
    logging.basicConfig(
        level=logging.WARNING, format="%(asctime)s %(levelname)s %(name)s: %(message)s"
    )
    uvicorn.run(
        create_app(config),
        host=config.host,
        port=config.port,
        log_level="warning",
        access_log=False,
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
