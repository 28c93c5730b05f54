"""The workload steps act through the capabilities: the writer's table is emptied by the
database capability, and the Redis probe follows the node the service uses."""

from __future__ import annotations

from types import SimpleNamespace

from drillbook.workload import History, RedisProbe, Writer
from steps import CacheInUse, DatabaseInUse, traffic
from tests.drills import make_drill

PROFILE = SimpleNamespace(workload={"probe_timeout_ms": 500})


def started(drill) -> list:
    """The clients the step starts, kept instead of started."""
    clients: list = []
    drill.run_client = clients.append
    return clients


def test_the_writer_starts_from_an_empty_table_on_the_database_in_use(tmp_path):
    drill = make_drill(History(), tmp_path)
    clients = started(drill)
    reset = []
    database = SimpleNamespace(
        primary_zone="az-a",
        instance=lambda name: SimpleNamespace(
            name=name, app_dsn=f"dsn {name}", reset_writes=lambda: reset.append(name)
        ),
    )
    traffic.writer_commits(drill, database, PROFILE, 20)
    [writer] = clients
    assert isinstance(writer, Writer) and reset == ["az-a"]
    drill.remember(DatabaseInUse("az-b"))  # a switch moves the writer's next connection
    assert writer.dsn() == "dsn az-b"


def test_the_redis_probe_follows_the_node_the_service_uses(tmp_path):
    drill = make_drill(History(), tmp_path)
    clients = started(drill)
    cache = SimpleNamespace(url=lambda node: f"redis://{node}")
    traffic.redis_probe(drill, cache, PROFILE, 100)
    [probe] = clients
    assert isinstance(probe, RedisProbe)
    assert drill.recall(CacheInUse).node == "primary"
    assert probe._clients.url() == "redis://primary"
    drill.remember(CacheInUse("replica"))
    assert probe._clients.url() == "redis://replica"
