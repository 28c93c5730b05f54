"""The service's front door: clients reach it by its DNS name, through weighted records.

The front router (nginx, without retries) stands where the clients' resolvers and the internet
are: it sends each request to the address of one of the name's weighted records, in proportion
to their weights, and a request sent to a region that does not answer fails, as a client fails
whose resolver gave it that region's address. What it sends where comes from DnsFollower, its
resolver: it reads the weighted records from Route53 and keeps the answer for the records' TTL
before asking again, as a caching resolver does, so a weight change reaches clients at most one
TTL after the change (anywhere within it, depending on when the last answer was read).
"""

from __future__ import annotations

import math
import threading
import time
from collections.abc import Callable
from pathlib import Path

from drillbook.platform.cloud import CloudControlPlane
from drillbook.stack.ports import free_port
from drillbook.stack.router import Router
from drillbook.toxiproxy import ToxiproxyClient


def entry_link(region: str) -> str:
    """The Toxiproxy proxy that is the clients' way into `region`: cutting it cuts the
    region off from its clients."""
    return f"region-{region}"


# A resolver that cannot reach Route53 keeps its last answer and asks again this soon.
RETRY_S = 1.0
# A TTL of 0 (never cache) is polled at this pace rather than in a busy loop.
MIN_TTL_S = 1.0


def resolved_weights(records: list[dict], port: int) -> dict[str, int]:
    """host:port -> weight of the addresses Route53 answers with: those of the records with a
    weight above 0 or, when every weight is 0, of every record alike, as Route53 does. Route53
    picks a record by its weight and the client one of its values, so a record's values share
    its weight (scaled by the values' common multiple to stay whole numbers)."""
    answered = {r["set_id"]: [v for v in (r["value"] or "").split(",") if v] for r in records}
    weighted = any(record["weight"] > 0 for record in records)
    scale = math.lcm(*(len(values) for values in answered.values() if values))
    weights: dict[str, int] = {}
    for record in records:
        values = answered[record["set_id"]]
        weight = record["weight"] if weighted else 1
        for value in values:
            if weight > 0:
                share = weight * scale // len(values)
                weights[f"{value}:{port}"] = weights.get(f"{value}:{port}", 0) + share
    return weights


class DnsFollower:
    """Keeps `router` sending to what `resolve` answers (weighted records, as
    CloudControlPlane.weighted_records gives them), each region's entry listening on `port` at
    its record's address. `changes` holds (when the router began using it, weights) for each
    answer that changed what it sends where."""

    def __init__(
        self,
        resolve: Callable[[], list[dict]],
        router: Router,
        port: int,
        progress: Callable[[str], None] = print,
    ) -> None:
        self.resolve = resolve
        self.router = router
        self.port = port
        self.progress = progress
        self.changes: list[tuple[float, dict[str, int]]] = []
        # the thread and a caller asking now must not reload the router at the same time
        self._lock = threading.Lock()
        self._stopping = threading.Event()
        self._thread: threading.Thread | None = None

    def follow_once(self) -> float:
        """Resolve, route by the answer if it changed; the seconds to keep the answer: the
        shortest TTL of the records."""
        with self._lock:
            try:
                records = self.resolve()
                weights = resolved_weights(records, self.port)
                if weights != self.router.weights:
                    self.router.set_backends(weights)
                    self.changes.append((time.time(), weights))
                    self.progress(f"front router follows DNS: {weights or 'no address'}")
            except Exception as exc:  # a resolver keeps its last answer while Route53 is away
                self.progress(f"front router keeps its last answer: {type(exc).__name__}: {exc}")
                return RETRY_S
        return max(MIN_TTL_S, min((r["ttl"] or 0 for r in records), default=MIN_TTL_S))

    def start(self) -> None:
        """Route by the first answer, then follow in a thread."""
        keep_s = self.follow_once()
        self._thread = threading.Thread(
            target=self._run, args=(keep_s,), name="dns-follower", daemon=True
        )
        self._thread.start()

    def stop(self) -> None:
        """The thread stopped; an error if it is still in a call after the router's ready
        timeout, so nothing is torn down under it unsaid."""
        self._stopping.set()
        if self._thread is None:
            return
        self._thread.join(timeout=self.router.ready_timeout_s)
        if self._thread.is_alive():
            raise RuntimeError(
                f"the front router's resolver did not stop within {self.router.ready_timeout_s:g} s"
            )

    def _run(self, keep_s: float) -> None:
        while not self._stopping.wait(keep_s):
            keep_s = self.follow_once()


class FrontDoor:
    """The front router, led by a DnsFollower, and each region's entry: a Toxiproxy proxy
    (entry_link) on the region's public address, at a port every region's entry shares (the
    records name addresses, not ports), in front of the region's router."""

    def __init__(
        self,
        *,
        run_dir: Path,
        log_path: Path,
        ready_timeout_s: float,
        nginx: str,
        progress: Callable[[str], None] = print,
    ) -> None:
        self.entry_port = free_port()
        self.progress = progress
        self.router = Router(
            port=free_port(),
            run_dir=run_dir,
            log_path=log_path,
            ready_timeout_s=ready_timeout_s,
            binary=nginx,
            retry=False,
        )
        self.follower: DnsFollower | None = None
        self._plane: CloudControlPlane | None = None

    @property
    def url(self) -> str:
        return self.router.url

    def spawn(self) -> None:
        self.router.spawn()

    def open_entries(self, toxiproxy: ToxiproxyClient, entries: dict[str, tuple[str, str]]) -> None:
        """region -> (its public address, its router's host:port)."""
        for region, (address, router) in entries.items():
            toxiproxy.create_proxy(entry_link(region), f"{address}:{self.entry_port}", router)

    def follow(self, plane: CloudControlPlane, zone: str, record: str) -> None:
        """Route by the weighted records of `record` in the plane's Route53 from now on; the
        plane is closed with the front door."""
        self._plane = plane
        self.follower = DnsFollower(
            lambda: plane.weighted_records(zone, record),
            self.router,
            self.entry_port,
            self.progress,
        )
        self.follower.start()

    def wait_ready(self) -> None:
        self.router.wait_ready()

    def stop(self) -> None:
        if self.follower is not None:
            self.follower.stop()
        if self._plane is not None:
            self._plane.close()
        self.router.stop()
