"""`benchgate schema`: print the result document's JSON Schema, or its reference page.

    benchgate schema                      JSON Schema (draft 2020-12)
    benchgate schema --format markdown    the page kept as docs/result-document.md

Both are generated from the one typed model of the document (api/result_model.py).
"""

from __future__ import annotations

import argparse
import json

from benchgate.commands.inputs import InputError, refuse


def configure(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--format",
        choices=("json", "markdown"),
        default="json",
        help="json: the JSON Schema (default); markdown: the reference page",
    )
    parser.add_argument("--indent", type=int, default=2, help="JSON indentation (default 2)")


def run(args: argparse.Namespace) -> int:
    if not 0 <= args.indent <= 16:
        return refuse("schema", InputError(f"--indent must be in [0, 16], got {args.indent}"))
    if args.format == "markdown":
        from benchgate.api.result_reference import render
        from benchgate.domain.fitness import RULES

        print(render(RULES), end="")
        return 0
    from benchgate.api.result import json_schema

    print(json.dumps(json_schema(), indent=args.indent, ensure_ascii=False))
    return 0
