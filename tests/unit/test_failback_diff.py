"""The failback's record of Redis keys in both regions (the plan lets a cutover lose them, so
they are recorded, not compared): key families, keys held alone, values that differ."""

from __future__ import annotations

from drillbook.environments.local.regions import keys_diff


class Keys:
    """A node whose client holds `values` (name -> serialized value)."""

    def __init__(self, **values: bytes) -> None:
        self.values = {name.replace("__", ":"): dump for name, dump in values.items()}

    def client(self) -> Keys:
        return self

    def __enter__(self) -> Keys:
        return self

    def __exit__(self, *exc: object) -> None:
        return None

    def scan_iter(self, count: int) -> list[bytes]:
        return [name.encode() for name in self.values]

    def dump(self, key: bytes) -> bytes:
        return self.values[key.decode()]


def test_keys_are_counted_by_family_alone_and_by_value() -> None:
    home = Keys(glancy__exports=b"s1", glancy__result__apple=b"r1", glancy__result__pear=b"r2")
    standby = Keys(glancy__exports=b"s2", glancy__result__apple=b"r1", glancy__llm__tokens__m=b"7")

    diff = keys_diff({"ap-southeast-1": home, "ap-northeast-1": standby})

    assert diff["families"] == {
        "ap-southeast-1": {"glancy:exports": 1, "glancy:result": 2},
        "ap-northeast-1": {"glancy:exports": 1, "glancy:llm": 1, "glancy:result": 1},
    }
    assert diff["only_in"] == {"ap-southeast-1": 1, "ap-northeast-1": 1}
    assert diff["serialized_differ"] == 1
