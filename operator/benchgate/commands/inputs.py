"""Reading what a user hands a command: files in, one kind of refusal out.

Every problem with an input (a missing file, text that is not JSON or YAML, a document
that breaks the contract, one nested 100 000 deep, a suite that is not a suite, a
document that cannot be a baseline) becomes an `InputError` whose message names the file
and the field; commands print it and exit with EXIT_INVALID_INPUT (3), never with a
traceback and never with 1, which `compare` reserves for "regressed".
"""

from __future__ import annotations

import sys
from collections.abc import Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Final

from benchgate.api.result import ResultDocument, ResultDocumentError, loads
from benchgate.api.suite import MetricOverride, SuiteSpec, SuiteSpecError, load_suite_file

if TYPE_CHECKING:  # numpy and scipy are imported only when a baseline is checked
    from benchgate.domain.verdict import EngineSettings

EXIT_INVALID_INPUT: Final = 3
# A RegressionSuite is a Kubernetes object (at most ~1.5 MiB in etcd); a suite file far
# larger than that is not one, and reading it whole is not worth the memory.
MAX_SUITE_FILE_BYTES: Final = 4 * 1024 * 1024


class InputError(Exception):
    """An input a command refuses; the message names the file and the field."""


def refuse(command: str, error: InputError) -> int:
    print(f"benchgate {command}: invalid input: {error}", file=sys.stderr)
    return EXIT_INVALID_INPUT


def _why_unreadable(exc: OSError) -> str:
    return exc.strerror or type(exc).__name__


def read_document(path: Path, label: str) -> ResultDocument:
    """A result document file, parsed strictly (`label`: baseline, candidate...)."""
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise InputError(f"{label} {path}: cannot read: {_why_unreadable(exc)}") from exc
    try:
        return loads(data)
    except ResultDocumentError as exc:
        raise InputError(f"{label} {path}: {exc.path}: {exc.message}") from exc


def read_suite(path: Path) -> SuiteSpec:
    """A RegressionSuite YAML file."""
    try:
        size = path.stat().st_size
        if size > MAX_SUITE_FILE_BYTES:
            raise InputError(
                f"suite {path}: is {size} bytes; a RegressionSuite file is at most "
                f"{MAX_SUITE_FILE_BYTES} bytes"
            )
        return load_suite_file(path)
    except OSError as exc:
        raise InputError(f"suite {path}: cannot read: {_why_unreadable(exc)}") from exc
    except UnicodeDecodeError as exc:
        raise InputError(f"suite {path}: is not UTF-8 text (byte {exc.start})") from exc
    except RecursionError as exc:
        raise InputError(f"suite {path}: nests too deeply to be a RegressionSuite") from exc
    except SuiteSpecError as exc:
        where = "" if str(exc).startswith(str(path)) else f"suite {path}: "
        raise InputError(f"{where}{exc}") from exc


def check_baseline(
    document: ResultDocument,
    label: str,
    settings: EngineSettings,
    overrides: Mapping[str, MetricOverride],
) -> None:
    """Refuse a document the verdict engine could not judge later runs against."""
    from benchgate.domain.fitness import baseline_problems, refusal

    problems = baseline_problems(document, settings, overrides)
    if problems:
        raise InputError(f"{label} {refusal(problems)}")
