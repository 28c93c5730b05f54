"""``python -m reference.llm_standin --port P [--latency-ms N]``: a stand-in for Doubao.

It answers ``POST /v1/chat/completions`` in the OpenAI-compatible shape Doubao's API uses,
with content derived only from the prompt, so drills can break it (stop it, slow it, put
Toxiproxy in front of it) and still check answers exactly. Tokens are counted as words.
"""

from __future__ import annotations

import argparse
import asyncio
import hashlib
import sys
import time

from fastapi import FastAPI
from pydantic import BaseModel, Field

from reference.serving import serve


class Message(BaseModel):
    role: str
    content: str


class ChatRequest(BaseModel):
    model: str
    messages: list[Message] = Field(min_length=1)


def completion_for(model: str, prompt: str) -> str:
    """The stand-in's answer to prompt: the same prompt always gets the same content."""
    digest = hashlib.sha256(prompt.encode()).hexdigest()[:8]
    return f"[{model} {digest}] {prompt}"


def create_app(latency_s: float = 0.0) -> FastAPI:
    app = FastAPI(title="doubao stand-in")

    @app.get("/healthz")
    async def healthz() -> dict:
        return {"status": "ok"}

    @app.post("/v1/chat/completions")
    async def chat_completions(body: ChatRequest) -> dict:
        await asyncio.sleep(latency_s)
        prompt = body.messages[-1].content
        content = completion_for(body.model, prompt)
        prompt_tokens = sum(len(m.content.split()) for m in body.messages)
        completion_tokens = len(content.split())
        return {
            "id": f"chatcmpl-{hashlib.sha256(content.encode()).hexdigest()[:16]}",
            "object": "chat.completion",
            "created": int(time.time()),
            "model": body.model,
            "choices": [
                {
                    "index": 0,
                    "message": {"role": "assistant", "content": content},
                    "finish_reason": "stop",
                }
            ],
            "usage": {
                "prompt_tokens": prompt_tokens,
                "completion_tokens": completion_tokens,
                "total_tokens": prompt_tokens + completion_tokens,
            },
        }

    return app


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m reference.llm_standin", description=__doc__)
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument(
        "--latency-ms", type=int, default=0, help="delay before every completion (default 0)"
    )
    args = parser.parse_args(argv)
    serve(create_app(args.latency_ms / 1000), args.host, args.port)
    return 0


if __name__ == "__main__":
    sys.exit(main())
