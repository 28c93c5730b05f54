"""The containers environment's images come from this machine alone: every Dockerfile builds
on the base scripts/images.sh makes with debootstrap, and nothing names a registry."""

from __future__ import annotations

import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
IMAGES = ROOT / "environments" / "containers" / "images"


def test_every_image_builds_on_the_local_base_alone():
    dockerfiles = sorted(IMAGES.glob("*/Dockerfile"))
    assert dockerfiles
    for dockerfile in dockerfiles:
        lines = [line.strip() for line in dockerfile.read_text(encoding="utf-8").splitlines()]
        froms = [line for line in lines if line.upper().startswith("FROM ")]
        assert froms == ["FROM ${BASE}"], dockerfile
        # an ARG with a default could name a registry's image when the build is given none
        assert "ARG BASE" in lines, dockerfile


def test_the_base_is_made_here_and_nothing_is_pulled():
    script = (ROOT / "scripts" / "images.sh").read_text(encoding="utf-8")
    assert "debootstrap --variant=minbase" in script
    assert re.search(r"docker import\b", script)
    assert not re.search(r"docker (image )?pull|--pull\b", script)


def test_a_binary_an_image_copies_is_one_the_setup_builds():
    setup = (ROOT / "scripts" / "setup.sh").read_text(encoding="utf-8")
    for listed in IMAGES.glob("*/binaries"):
        for binary in listed.read_text(encoding="utf-8").split():
            assert re.search(rf"go_tool {re.escape(binary)} ", setup), (listed, binary)
