"""``python -m reference --config path.json [--host H --port P --version V]``: serve the
reference service with uvicorn. The flags override the file, so the replicas of a Deployment
share one configuration while each listens on its Pod's address."""

from __future__ import annotations

import argparse
import dataclasses
import logging
import sys
from pathlib import Path

from reference.app import create_app
from reference.config import ConfigError, load_config
from reference.serving import serve


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m reference", description=__doc__)
    parser.add_argument("--config", required=True, help="path of the JSON configuration file")
    parser.add_argument("--host", help="address to listen on (default: the file's)")
    parser.add_argument("--port", type=int, help="port to listen on (default: the file's)")
    parser.add_argument("--version", help="the release it reports (default: the file's)")
    args = parser.parse_args(argv)
    try:
        config = load_config(args.config)
    except ConfigError as exc:
        print(f"reference: {exc}", file=sys.stderr)
        return 2
    overrides = {"host": args.host, "port": args.port, "version": args.version}
    config = dataclasses.replace(config, **{k: v for k, v in overrides.items() if v is not None})
    # the pool's and the service's own warnings, with the time they happened
    logging.basicConfig(
        level=logging.WARNING, format="%(asctime)s %(levelname)s %(name)s: %(message)s"
    )
    # every check of a published configuration, passed or not: its trace id is what a
    # configuration page names
    logging.getLogger("reference.config_check").setLevel(logging.INFO)
    serve(create_app(config, Path(args.config)), config.host, config.port)
    return 0


if __name__ == "__main__":
    sys.exit(main())
