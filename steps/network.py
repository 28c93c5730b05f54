"""Network faults through Toxiproxy: a named proxy stands in front of each dependency
("pg-az-a", "pg-az-b", "redis", ...). A fault is a toxic or a disabled proxy; each is
journaled with the heal of that one proxy, and with the data a later run needs to reset it
if this run is killed."""

from __future__ import annotations

from dataclasses import asdict
from functools import partial

from pytest_bdd import parsers, when

from drillbook.drill import Drill
from drillbook.faults.heal import heal_proxy, proxy_recover
from drillbook.faults.journal import FaultJournal
from drillbook.stack import LocalStack


def inject_on_proxy(
    drill: Drill, environment: LocalStack, journal: FaultJournal, proxy: str, kind: str, action
) -> None:
    known = environment.toxiproxy.proxies()
    if proxy not in known:
        raise LookupError(f"no Toxiproxy proxy {proxy!r}; the proxies are {sorted(known)}")
    drill.mark_fault()
    journal.inject(
        kind,
        f"proxy {proxy}",
        action,
        partial(heal_proxy, environment, proxy),
        recover=proxy_recover(environment, proxy),
    )
    state = asdict(environment.toxiproxy.proxy(proxy))
    drill.evidence.attach_json(f"toxiproxy: {kind} on {proxy}", state)


@when(parsers.parse('the network to "{proxy}" is cut'))
def cut(drill: Drill, environment: LocalStack, journal: FaultJournal, proxy: str) -> None:
    """The proxy refuses connections and drops the open ones."""
    action = partial(environment.toxiproxy.update_proxy, proxy, enabled=False)
    inject_on_proxy(drill, environment, journal, proxy, "cut", action)


@when(parsers.parse('"{proxy}" answers {latency:d} ms late'))
def latency(
    drill: Drill, environment: LocalStack, journal: FaultJournal, proxy: str, latency: int
) -> None:
    action = partial(
        environment.toxiproxy.add_toxic, proxy, "latency", "latency", {"latency": latency}
    )
    inject_on_proxy(drill, environment, journal, proxy, f"latency {latency} ms", action)


@when(parsers.parse('"{proxy}" stops answering'))
def silent(drill: Drill, environment: LocalStack, journal: FaultJournal, proxy: str) -> None:
    """Connections stay open but nothing comes back (Toxiproxy's timeout toxic, 0 = forever)."""
    action = partial(environment.toxiproxy.add_toxic, proxy, "silence", "timeout", {"timeout": 0})
    inject_on_proxy(drill, environment, journal, proxy, "silence", action)


@when(parsers.parse('the network to "{proxy}" is restored'))
def restored(drill: Drill, journal: FaultJournal, proxy: str) -> None:
    reverted = journal.revert_target(f"proxy {proxy}")
    assert reverted, f"no fault on proxy {proxy} to restore"
    drill.marks[f"{proxy} restored"] = reverted[0].reverted_at
