"""Pod addresses of the embedded Kubernetes: one IP per Pod, on the loopback interface.

A Service's endpoints must be distinct IPs (the API server refuses loopback addresses in
EndpointSlices), and every replica listens on the same container port, so each Pod gets its own
address from 198.18.0.0/15, the range RFC 2544 sets aside for benchmarking, which no network
routes. An address added to `lo` is reachable from this host only. Each stack takes a /24 of
its own, claimed machine-wide (two stacks starting together must not share one) and written
to its run folder, so a killed run's addresses can be found and removed.
"""

from __future__ import annotations

import fcntl
import ipaddress
import shutil
import subprocess
import tempfile
from pathlib import Path

POD_RANGE = ipaddress.ip_network("198.18.0.0/15")
SUBNET_FILE = "pod-subnet"
# One folder per claimed /24, made atomically by the stack that claims it, naming its run folder:
# a claim whose run folder is gone is stale (a killed run) and taken over.
CLAIMS = Path(tempfile.gettempdir()) / "drillbook-pod-subnets"
IP_TIMEOUT_S = 5.0


class PodNetworkError(RuntimeError):
    pass


def _ip(*args: str) -> str:
    argv = ["ip", *args]
    try:
        done = subprocess.run(argv, capture_output=True, text=True, timeout=IP_TIMEOUT_S)
    except (OSError, subprocess.TimeoutExpired) as exc:
        raise PodNetworkError(f"{' '.join(argv)} failed: {exc}") from exc
    if done.returncode != 0:
        raise PodNetworkError(
            f"{' '.join(argv)} exited with {done.returncode}: {done.stderr.strip()} "
            "(pod addresses need root or CAP_NET_ADMIN)"
        )
    return done.stdout


def loopback_addresses() -> set[ipaddress.IPv4Address]:
    """The IPv4 addresses on `lo` inside POD_RANGE."""
    found = set()
    for line in _ip("-o", "-4", "addr", "show", "dev", "lo").splitlines():
        fields = line.split()
        if "inet" in fields:
            address = ipaddress.ip_interface(fields[fields.index("inet") + 1]).ip
            if address in POD_RANGE:
                found.add(address)
    return found


def claim_subnet(run_dir: Path) -> ipaddress.IPv4Network:
    """A /24 of POD_RANGE claimed for `run_dir`, with no address in use, recorded there."""
    CLAIMS.mkdir(mode=0o700, exist_ok=True)
    with open(CLAIMS / ".lock", "a") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)  # one stack claims at a time, stale takeovers too
        used = loopback_addresses()
        for subnet in POD_RANGE.subnets(new_prefix=24):
            if any(address in subnet for address in used) or not _claim(subnet, run_dir):
                continue
            run_dir.mkdir(parents=True, exist_ok=True)
            (run_dir / SUBNET_FILE).write_text(f"{subnet}\n")
            return subnet
    raise PodNetworkError(f"every /24 of {POD_RANGE} is claimed or has addresses on lo")


def _claim(subnet: ipaddress.IPv4Network, run_dir: Path) -> bool:
    claim = _claim_of(subnet)
    try:
        claim.mkdir()
    except FileExistsError:
        owner = claim / "owner"
        if owner.exists() and Path(owner.read_text()).exists():
            return False  # its run is there
        shutil.rmtree(claim, ignore_errors=True)
        try:
            claim.mkdir()
        except FileExistsError:  # another stack took it over first
            return False
    (claim / "owner").write_text(str(run_dir))
    return True


def _claim_of(subnet: ipaddress.IPv4Network) -> Path:
    return CLAIMS / str(subnet).replace("/", "_")


def add_address(address: str) -> None:
    _ip("addr", "replace", f"{address}/32", "dev", "lo")


def remove_address(address: str) -> None:
    if ipaddress.ip_address(address) in loopback_addresses():
        _ip("addr", "del", f"{address}/32", "dev", "lo")


def claimed_subnet(run_dir: Path) -> ipaddress.IPv4Network | None:
    """The subnet recorded in `run_dir` by claim_subnet, if any."""
    path = run_dir / SUBNET_FILE
    return ipaddress.ip_network(path.read_text().strip()) if path.exists() else None


def release_subnet(run_dir: Path) -> list[str]:
    """Remove every address of the subnet recorded in `run_dir`; return those removed."""
    subnet = claimed_subnet(run_dir)
    if subnet is None:
        return []
    removed = sorted(str(a) for a in loopback_addresses() if a in subnet)
    for address in removed:
        _ip("addr", "del", f"{address}/32", "dev", "lo")
    owner = _claim_of(subnet) / "owner"
    if owner.exists() and owner.read_text() == str(run_dir):
        shutil.rmtree(owner.parent, ignore_errors=True)
    return removed
