"""The front door follows DNS for real: a real nginx sends requests where the weighted records
in a real moto server's Route53 say, picks up a weight change within one TTL, and fails the
requests it sends to a region that does not answer."""

from __future__ import annotations

import socket
import threading
import time
from collections import Counter
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import NamedTuple

import httpx
import pytest

from drillbook.platform.cloud import CloudControlPlane
from drillbook.stack.cloud import API_TTL_S, MotoServer, seed_control_plane
from drillbook.stack.front_door import DnsFollower
from drillbook.stack.ports import free_port
from drillbook.stack.router import Router

pytestmark = [pytest.mark.integration, pytest.mark.timeout(120)]

PRIMARY, DR = "ap-southeast-1", "ap-northeast-1"
ENTRY = {PRIMARY: "127.0.0.2", DR: "127.0.0.3"}


class Region(ThreadingHTTPServer):
    """A region's entry point: answers every request with its region's name."""

    def __init__(self, region: str, port: int) -> None:
        self.region = region
        super().__init__((ENTRY[region], port), _Answer)
        self._thread = threading.Thread(target=self.serve_forever, daemon=True)
        self._thread.start()

    def stop(self) -> None:
        self.shutdown()
        self.server_close()


class _Answer(BaseHTTPRequestHandler):
    def do_GET(self) -> None:  # noqa: N802 (http.server's name)
        body = self.server.region.encode()
        self.send_response(200)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args: object) -> None:
        pass


class Resolve(NamedTuple):
    """One of the DNS follower's resolves: when it began and ended, and the weights it read
    (address -> weight)."""

    began: float
    ended: float
    weights: dict[str, int]


def port_free_on_both() -> int:
    while True:
        port = free_port()
        try:
            for address in ENTRY.values():
                with socket.socket() as sock:
                    sock.bind((address, port))
        except OSError:
            continue
        return port


@pytest.fixture
def plane(tmp_path) -> Iterator[CloudControlPlane]:
    moto = MotoServer(port=free_port(), log_path=tmp_path / "moto.log", ready_timeout_s=15.0)
    moto.spawn()
    try:
        moto.wait_ready()
        seed_control_plane(
            moto.endpoint_url, primary_region=PRIMARY, dr_region=DR, api_addresses=ENTRY
        )
        plane = CloudControlPlane(PRIMARY, moto.endpoint_url)
        yield plane
        plane.close()
    finally:
        moto.stop()


@pytest.fixture
def door(plane, tmp_path) -> Iterator[tuple[Router, DnsFollower, dict[str, Region], list[Resolve]]]:
    """The router, its DNS follower, the regions, and each of the follower's resolves."""
    port = port_free_on_both()
    regions = {region: Region(region, port) for region in ENTRY}
    router = Router(
        port=free_port(),
        run_dir=tmp_path / "front",
        log_path=tmp_path / "front.log",
        ready_timeout_s=10.0,
        retry=False,
    )

    def resolve() -> list[dict]:
        began = time.time()
        records = plane.weighted_records("glancy.", "api.glancy")
        resolves.append(Resolve(began, time.time(), {r["value"]: r["weight"] for r in records}))
        return records

    resolves: list[Resolve] = []
    follower = DnsFollower(resolve, router, port, lambda _: None)
    router.spawn()
    try:
        router.wait_ready()
        follower.start()
        yield router, follower, regions, resolves
    finally:
        follower.stop()
        router.stop()
        for region in regions.values():
            region.stop()


def answers(router: Router, n: int) -> Counter:
    with httpx.Client(timeout=2.0) as client:
        return Counter(
            (r.text if r.status_code == 200 else r.status_code)
            for r in (client.get(f"{router.url}/lookup") for _ in range(n))
        )


def test_clients_go_where_the_weight_is_and_follow_a_move_within_one_ttl(plane, door):
    router, follower, _, resolves = door
    assert answers(router, 20) == {PRIMARY: 20}
    moved_at = time.time()
    plane.set_weights("glancy.", "api.glancy", {PRIMARY: 0, DR: 100})
    seen: list[tuple[float, str]] = []
    # until a second after the first answer from DR, within the TTL and a loaded host's reload
    first_dr = None
    while time.time() < moved_at + API_TTL_S + 10:
        seen.append((time.time(), next(iter(answers(router, 1)))))
        if first_dr is None and seen[-1][1] == DR:
            first_dr = seen[-1][0]
        if first_dr is not None and time.time() > first_dr + 1.0:
            break
        time.sleep(0.05)
    assert first_dr is not None, f"no answer from {DR} within {API_TTL_S + 10} s of the move"
    assert all(region == PRIMARY for at, region in seen if at < first_dr)
    assert all(region == DR for at, region in seen if at >= first_dr)
    # The resolver asks again one TTL after its last answer ended: the resolve that saw the
    # move began within one TTL of it, plus one resolve's time (one in flight at the move read
    # the old weights) and the wake-up's; clients follow only once it has answered.
    saw_move = next((r for r in resolves if r.weights.get(ENTRY[PRIMARY]) == 0), None)
    assert saw_move is not None, resolves
    longest_resolve_s = max(r.ended - r.began for r in resolves)
    assert saw_move.began - moved_at <= API_TTL_S + longest_resolve_s + 0.1, resolves
    assert saw_move.began <= first_dr
    assert follower.changes[-1][1] == {f"{ENTRY[DR]}:{follower.port}": 100}


def test_a_half_share_splits_the_requests_between_the_regions(plane, door):
    router, follower, _, _ = door
    plane.set_weights("glancy.", "api.glancy", {PRIMARY: 50, DR: 50})
    follower.follow_once()  # as when the cached answer expires
    assert answers(router, 40) == {PRIMARY: 20, DR: 20}


def test_requests_sent_to_a_region_that_does_not_answer_fail_and_are_not_retried(plane, door):
    router, follower, regions, _ = door
    regions[PRIMARY].stop()
    assert answers(router, 10) == {502: 10}
    plane.set_weights("glancy.", "api.glancy", {PRIMARY: 0, DR: 100})
    follower.follow_once()
    assert answers(router, 10) == {DR: 10}
