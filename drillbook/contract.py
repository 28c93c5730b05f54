"""Contract corpora: recorded request/response samples a release must keep answering alike.

A corpus is JSON Lines, one sample a line: the request (method, path, params) and the part of
the response that forms the contract, the status and the compared body fields. Volatile or
per-replica fields are not compared: `source` (cache or database, depends on what ran
before), ids and timestamps. Compared for a 200 from /lookup: `word`, `definition`,
`example`, `ai_example`, `degraded`; for an error: `error`.

A sample recorded in full but answered degraded (the LLM did not answer within the adapter's
timeout, as under load) is set aside, not compared: the degraded mode's answer is the same in
every release (v2's rename comes after it), so it tells nothing about the release's contract,
and the LLM's availability is January's drill, not this one. The figure is over the samples
compared; a replay whose every answer was degraded measured nothing.

Record once from a known-good release and keep the file in the repository:

    python -m drillbook.contract record http://127.0.0.1:PORT features/data/contract-lookup-v1.jsonl
    python -m drillbook.contract replay http://127.0.0.1:PORT features/data/contract-lookup-v1.jsonl
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import sys
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import httpx

from drillbook.checks import CheckResult, not_measured

CONTRACT_FIELDS = ("word", "definition", "example", "ai_example", "degraded")
ERROR_FIELDS = ("error",)
MISSING = "<missing>"
WORDS = (
    "serendipity", "ephemeral", "lucid", "quorum", "latency", "replica", "rollback",
    "canary", "drain", "contract", "idempotent", "failover", "quiescent", "backoff",
    "jitter", "sentinel", "lease", "epoch", "tombstone", "watermark", "shard", "vector",
    "ledger", "beacon", "harbor",
)  # fmt: skip
SAMPLES = 500
USERS = 20
# Every INVALID_EVERY-th request leaves out `user`: the error answer is part of the contract.
INVALID_EVERY = 50
PARALLEL = 8
TIMEOUT_S = 5.0
MISMATCHES_KEPT = 20


def corpus_requests(samples: int = SAMPLES) -> list[dict]:
    """The fixed requests of the /lookup corpus: the same list on every recording."""
    requests = []
    for i in range(samples):
        params = {"word": WORDS[i % len(WORDS)], "user": f"contract-{i % USERS:02d}"}
        if i % INVALID_EVERY == INVALID_EVERY - 1:
            del params["user"]
        requests.append({"method": "GET", "path": "/lookup", "params": params})
    return requests


def contract_of(response: httpx.Response) -> dict:
    """The compared part of a response: status and the contract fields it has."""
    try:
        body = response.json()
    except ValueError:
        body = {}
    fields = CONTRACT_FIELDS if response.status_code < 400 else ERROR_FIELDS
    body = body if isinstance(body, dict) else {}
    return {"status": response.status_code, "body": {f: body[f] for f in fields if f in body}}


def _call(client: httpx.Client, request: dict) -> dict:
    try:
        response = client.request(request["method"], request["path"], params=request["params"])
    except httpx.HTTPError as exc:
        return {"status": None, "error": f"{type(exc).__name__}: {exc}", "body": {}}
    return contract_of(response)


def _call_all(base_url: str, requests: list[dict]) -> list[dict]:
    with (
        httpx.Client(base_url=base_url, timeout=TIMEOUT_S) as client,
        ThreadPoolExecutor(PARALLEL) as pool,
    ):
        return list(pool.map(lambda request: _call(client, request), requests))


def record(base_url: str, corpus_path: Path, samples: int = SAMPLES) -> int:
    """Record the corpus from the service at base_url; refuse a recording with a failure."""
    requests = corpus_requests(samples)
    responses = _call_all(base_url, requests)
    broken = [i for i, r in enumerate(responses) if r["status"] is None or r["status"] >= 500]
    if broken:
        raise RuntimeError(f"not recorded: samples {broken[:10]} failed: {responses[broken[0]]}")
    corpus_path.parent.mkdir(parents=True, exist_ok=True)
    lines = [
        json.dumps({"request": request, "expect": response}, sort_keys=True)
        for request, response in zip(requests, responses, strict=True)
    ]
    corpus_path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return len(lines)


def load(corpus_path: Path) -> list[dict]:
    with corpus_path.open(encoding="utf-8") as corpus:
        return [json.loads(line) for line in corpus if line.strip()]


def mismatches(expected: dict, got: dict) -> list[dict]:
    """The fields where `got` differs from `expected`, status first."""
    if got["status"] != expected["status"]:
        # a transport error has no status: its message is what was got
        return [
            {
                "field": "status",
                "expected": expected["status"],
                "got": got.get("error", got["status"]),
            }
        ]
    return [
        {"field": field, "expected": value, "got": got["body"].get(field, MISSING)}
        for field, value in expected["body"].items()
        if got["body"].get(field, MISSING) != value
    ]


def degraded_instead(expected: dict, got: dict) -> bool:
    """Whether a sample recorded as a full answer was answered degraded."""
    return (
        expected["status"] == got["status"] == 200
        and expected["body"].get("degraded") is False
        and got["body"].get("degraded") is True
    )


def replay(corpus_path: Path, base_url: str) -> CheckResult:
    """Replay the corpus against base_url; the figure is the share of the samples compared
    (all but those answered degraded instead of in full) that were answered alike."""
    samples = load(corpus_path)
    name = f"contract {corpus_path.stem}"
    if not samples:
        return not_measured(name, "%", 100.0, f"{corpus_path} is empty")
    responses = _call_all(base_url, [sample["request"] for sample in samples])
    answered = list(enumerate(zip(samples, responses, strict=True)))
    degraded = [i for i, (sample, got) in answered if degraded_instead(sample["expect"], got)]
    compared = [(i, pair) for i, pair in answered if i not in set(degraded)]
    aside = "answered degraded instead of in full, not compared"
    if not compared:
        return not_measured(name, "%", 100.0, f"every one of {len(samples)} samples {aside}")
    failed = [
        {"sample": i, **problem}
        for i, (sample, got) in compared
        for problem in mismatches(sample["expect"], got)[:1]
    ]
    figure = 100.0 * (len(compared) - len(failed)) / len(compared)
    passed = not failed
    explanation = f"{name}: {len(compared) - len(failed)} of {len(compared)} samples answered alike"
    if degraded:
        explanation += f" ({len(degraded)} {aside})"
    if failed:
        first = failed[0]
        explanation += (
            f"; first mismatch: sample {first['sample']} field {first['field']!r} expected "
            f"{first['expected']!r}, got {first['got']!r}"
        )
    details = {
        "corpus": str(corpus_path),
        "base_url": base_url,
        "samples": len(samples),
        "compared": len(compared),
        "degraded_not_compared": degraded[:MISMATCHES_KEPT],
        "degraded_not_compared_count": len(degraded),
        "failed": len(failed),
        "fields": sorted({m["field"] for m in failed}),
        "mismatches": failed[:MISMATCHES_KEPT],
    }
    return CheckResult(name, figure, "%", 100.0, passed, explanation, details)


def break_detected(result: CheckResult) -> CheckResult:
    """A replay against a release that should break the contract: passes when some sample was
    answered differently (its figure below 100%), fails when every sample still passed."""
    name = f"{result.name} break detected"
    if not result.measured or result.figure is None:
        return not_measured(name, result.unit, result.threshold, result.explanation, result.details)
    detected = result.figure < result.threshold
    verdict = "break detected" if detected else "break NOT detected"
    return dataclasses.replace(
        result, name=name, passed=detected, explanation=f"{verdict}: {result.explanation}"
    )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m drillbook.contract", description=__doc__)
    parser.add_argument("action", choices=["record", "replay"])
    parser.add_argument("base_url")
    parser.add_argument("corpus", type=Path)
    args = parser.parse_args(argv)
    if args.action == "record":
        print(f"recorded {record(args.base_url, args.corpus)} samples into {args.corpus}")
        return 0
    result = replay(args.corpus, args.base_url)
    print(result.explanation)
    return 0 if result.passed else 1


if __name__ == "__main__":
    sys.exit(main())
