"""The images on the engine are the ones scripts/images.sh made here: each component's image is
the local base's layers and its own, and the base was imported, not pulled."""

from __future__ import annotations

from pathlib import Path

import pytest

from drillbook.stack.containers import engine, image

pytestmark = pytest.mark.integration

IMAGES = Path(__file__).resolve().parents[2] / "environments" / "containers" / "images"


def test_every_component_image_is_built_on_the_imported_base():
    client = engine()
    try:
        # `docker import` leaves one layer whose history says so; a pulled image would have
        # its registry's digests
        bases = client.images.list(name="drillbook/base")
        assert bases, "no base image: scripts/images.sh makes it"
        for base in bases:
            assert [h["Comment"] for h in base.history()] == ["Imported from -"], base.tags
            assert base.attrs["RepoDigests"] == [], base.tags
        base_layers = [base.attrs["RootFS"]["Layers"] for base in bases]
        components = sorted(folder.name for folder in IMAGES.iterdir() if folder.is_dir())
        assert components
        for component in components:
            built = client.images.get(image(component))
            assert built.attrs["RepoDigests"] == [], component
            layers = built.attrs["RootFS"]["Layers"]
            assert any(layers[: len(own)] == own and len(layers) > len(own) for own in base_layers)
    finally:
        client.close()
