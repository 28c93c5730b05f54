"""How every server of the reference stack is served: uvicorn, warnings only, no access log
(the drills' probes would fill it)."""

from __future__ import annotations

import uvicorn
from fastapi import FastAPI


def serve(app: FastAPI, host: str, port: int) -> None:
    uvicorn.run(app, host=host, port=port, log_level="warning", access_log=False)
