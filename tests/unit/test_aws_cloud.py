"""A failover's plan: the writer, a reader in another zone, and refusals that say why."""

from __future__ import annotations

import pytest

from drillbook.environments.aws_cloud import AwsCloud


class FakePlane:
    def __init__(self, members: dict[str, dict]) -> None:
        self.members = members

    def cluster_members(self, cluster: str) -> dict[str, dict]:
        return self.members


def member(writer: bool, zone: str | None) -> dict:
    return {"is_writer": writer, "zone": zone, "availability_zone": None}


def plan(members: dict[str, dict]) -> dict:
    return AwsCloud(lambda: FakePlane(members)).failover_plan("glancy-main")


def test_the_failover_goes_to_a_reader_in_another_zone():
    members = {
        "w": member(True, "az-a"),
        "same-zone": member(False, "az-a"),
        "other-zone": member(False, "az-b"),
    }
    assert plan(members) == {
        "cluster": "glancy-main",
        "from": "w",
        "to": "other-zone",
        "from_zone": "az-a",
        "to_zone": "az-b",
    }


def test_instances_without_a_zone_tag_are_refused_by_name():
    with pytest.raises(RuntimeError, match=r"\['r'\] carry no drillbook:zone tag"):
        plan({"w": member(True, "az-a"), "r": member(False, None)})


def test_no_reader_outside_the_writers_zone_is_refused():
    with pytest.raises(RuntimeError, match="no reader outside the writer's zone"):
        plan({"w": member(True, "az-a"), "r": member(False, "az-a")})
