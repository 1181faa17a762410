"""docs/result-document.md is generated from the model; it must not drift from it."""

from __future__ import annotations

from pathlib import Path

import pytest

from benchgate.api.result_reference import render
from benchgate.cli import main
from benchgate.domain.fitness import RULES

PAGE = Path(__file__).resolve().parents[2] / "docs" / "result-document.md"


def test_the_reference_page_is_what_the_model_generates() -> None:
    assert PAGE.read_text() == render(RULES), (
        "docs/result-document.md is out of date with the result model; regenerate it with "
        "`benchgate schema --format markdown > docs/result-document.md`"
    )


def test_the_cli_prints_the_page(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["schema", "--format", "markdown"]) == 0
    assert capsys.readouterr().out == render(RULES)


def test_the_page_lists_every_field_and_limit_of_the_model() -> None:
    page = render(RULES)
    for text in (
        "`schemaVersion`",
        "`errorFactor`",
        "`durationSeconds`",
        "`replicate`",
        "32 levels",
        "40 characters",
        "900 KiB",
        "| `exact` | `equal` |",
        "## Versions",
        "## Can it be a baseline?",
    ):
        assert text in page, f"{text!r} missing from the generated reference page"
