"""Network faults on named links ("pg-az-a", "redis", "llm", "s3-crr", ...): a link cut,
slowed or silenced is a fault of the drill, reverted on teardown or by a restore step. A cut
and a delay may be written as Given, where they cause a runbook's trigger."""

from __future__ import annotations

from pytest_bdd import given, parsers, when

from drillbook.bdd import performs, reverts
from drillbook.capabilities import Network, Operation
from drillbook.drill import Drill


def inject(drill: Drill, network: Network, link: str, operation: Operation[None]) -> None:
    drill.apply(operation)
    drill.evidence.attach_json(f"network: {operation.kind} on {link}", network.state(link))


CUT = 'the network to "{proxy}" is cut'
LATE = '"{proxy}" answers {latency:d} ms late'
JITTER = '"{proxy}" answers {latency:d} ± {jitter:d} ms late'


@given(parsers.parse(CUT))
@when(parsers.parse(CUT))
@performs("network.cut", link="{proxy}")
def cut(drill: Drill, network: Network, proxy: str) -> None:
    """The link refuses connections and drops the open ones."""
    inject(drill, network, proxy, network.cut(proxy))


@given(parsers.parse(LATE))
@when(parsers.parse(LATE))
@performs("network.latency", link="{proxy}", ms="{latency}")
def latency(drill: Drill, network: Network, proxy: str, latency: int) -> None:
    inject(drill, network, proxy, network.latency(proxy, latency))


@given(parsers.parse(JITTER))
@when(parsers.parse(JITTER))
@performs("network.latency", link="{proxy}", ms="{latency}")
def jitter(drill: Drill, network: Network, proxy: str, latency: int, jitter: int) -> None:
    """Network jitter: every chunk delayed by `latency`, give or take up to `jitter` ms."""
    inject(drill, network, proxy, network.latency(proxy, latency, jitter))


@when(parsers.parse('"{proxy}" stops answering'))
@performs("network.silence", link="{proxy}")
def silent(drill: Drill, network: Network, proxy: str) -> None:
    """Connections stay open but nothing comes back."""
    inject(drill, network, proxy, network.silence(proxy))


@when(parsers.parse('the network to "{proxy}" is restored'))
@reverts("network.restore", link="{proxy}")
def restored(drill: Drill, network: Network, proxy: str) -> None:
    drill.restore(network.target(proxy))
