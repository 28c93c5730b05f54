"""The Redis primary out of memory (Cache.exhaust_memory): cut by its policy first, put back as
it was."""

from __future__ import annotations

from drillbook.environments.common import exhaust_memory


class Node:
    """A Redis client's CONFIG as the fault uses it, recording each CONFIG SET in order."""

    def __init__(self) -> None:
        self.config = {"maxmemory": "268435456", "maxmemory-policy": "allkeys-lfu"}
        self.sets: list[tuple[str, str]] = []

    def __enter__(self) -> Node:
        return self

    def __exit__(self, *_: object) -> None:
        pass

    def config_get(self, name: str) -> dict[str, str]:
        return {name: self.config[name]}

    def config_set(self, name: str, value: str) -> None:
        self.sets.append((name, value))
        self.config[name] = value


def test_the_cut_sets_the_policy_before_the_limit_and_the_revert_puts_back_both():
    node = Node()
    operation = exhaust_memory(lambda: node)
    assert operation.detail["before"] == {
        "maxmemory-policy": "allkeys-lfu",
        "maxmemory": "268435456",
    }
    operation.run()
    assert node.sets == [("maxmemory-policy", "volatile-lru"), ("maxmemory", "1")]
    operation.revert()
    assert node.config == {"maxmemory": "268435456", "maxmemory-policy": "allkeys-lfu"}
