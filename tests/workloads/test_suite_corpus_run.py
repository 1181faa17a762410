"""`benchgate run SUITE.yaml` refuses every bad suite of the corpus that it can know about,
before any workload runs, with the field named (exit 3, as for any invalid input)."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from benchgate.cli import main
from suite_corpus import BAD, Case


@pytest.mark.parametrize("case", [c for c in BAD if c.local], ids=lambda c: c.id)
def test_benchgate_run_refuses_the_bad_suite_naming_the_field(
    case: Case, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    suite = tmp_path / "suite.yaml"
    suite.write_text(yaml.safe_dump(case.manifest()))
    assert main(["run", str(suite), "--out", str(tmp_path / "out.json")]) == 3
    err = capsys.readouterr().err
    assert case.field in err, f"{case.id}: the message does not name {case.field}:\n{err}"
    assert not (tmp_path / "out.json").exists(), "nothing runs for an invalid suite"
