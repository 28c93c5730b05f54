"""A region's links, as the network capability lists them for a region cut."""

from __future__ import annotations

import pytest

from drillbook.environments.proxied_network import ProxiedNetwork
from drillbook.toxiproxy import ToxiproxyClient

REGIONS = {"ap-southeast-1": ["region-ap-southeast-1", "s3-crr"], "ap-northeast-1": ["llm"]}


def network() -> ProxiedNetwork:
    # no call reaches the server: the region's links are configuration
    return ProxiedNetwork(ToxiproxyClient("http://127.0.0.1:1"), regions=REGIONS)


def test_a_regions_links_are_listed_in_the_order_given():
    assert network().region_links("ap-southeast-1") == ["region-ap-southeast-1", "s3-crr"]


def test_a_region_without_links_is_refused_naming_the_known_ones():
    with pytest.raises(LookupError, match="region 'eu-west-1' .*ap-southeast-1, ap-northeast-1"):
        network().region_links("eu-west-1")
