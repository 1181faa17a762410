"""One release version: the Python package, `benchgate --version`, the chart (version and
appVersion, hence the operator image tag it deploys), the images' labels and the image
tags the samples and docs tell users to run. A release bumps them together."""

from __future__ import annotations

import re
import subprocess
import sys
import tomllib
from pathlib import Path

import yaml

import benchgate

ROOT = Path(__file__).resolve().parents[2]
VERSION = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["version"]
# Files users copy image references from: every benchgate image tag in them is the release.
IMAGE_TAG_FILES = [
    *sorted((ROOT / "crds/samples").glob("*.yaml")),
    *sorted((ROOT / "examples").glob("*/suite.yaml")),
    ROOT / "docs/plugins.md",
    ROOT / "Dockerfile",
]
IMAGE_TAG = re.compile(r"ghcr\.io/benchgate/(?:operator|workload):([0-9][\w.+-]*)")


def test_the_package_and_the_cli_report_the_pyproject_version() -> None:
    assert benchgate.__version__ == VERSION, (
        f"operator/benchgate/__init__.py says {benchgate.__version__}, pyproject.toml {VERSION}"
    )
    out = subprocess.run(
        [sys.executable, "-m", "benchgate.cli", "--version"],
        capture_output=True,
        text=True,
        check=True,
    )
    assert out.stdout.strip() == f"benchgate {VERSION}"


def test_the_chart_deploys_the_same_version() -> None:
    chart = yaml.safe_load((ROOT / "charts/benchgate/Chart.yaml").read_text())
    assert (chart["version"], chart["appVersion"]) == (VERSION, VERSION), (
        f"Chart.yaml version/appVersion are {chart['version']}/{chart['appVersion']}, "
        f"the release is {VERSION}"
    )
    values = yaml.safe_load((ROOT / "charts/benchgate/values.yaml").read_text())
    assert values["image"]["tag"] == "", (
        "values.yaml image.tag must stay empty so the chart deploys its appVersion"
    )


def test_the_images_are_labelled_with_the_version() -> None:
    dockerfile = (ROOT / "Dockerfile").read_text()
    assert f"ARG BENCHGATE_VERSION={VERSION}\n" in dockerfile
    assert dockerfile.count('org.opencontainers.image.version="${BENCHGATE_VERSION}"') == 2, (
        "both final images (operator, workload) must carry the version label"
    )


def test_documented_image_tags_are_the_release() -> None:
    stale = {
        f"{path.relative_to(ROOT)}: {tag}"
        for path in IMAGE_TAG_FILES
        for tag in IMAGE_TAG.findall(path.read_text())
        if tag != VERSION
    }
    assert not stale, f"image tags that are not the release {VERSION}: {sorted(stale)}"
