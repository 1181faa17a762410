"""`benchgate schema`: print the result document's JSON Schema for other tools."""

from __future__ import annotations

import argparse
import json

from benchgate.api.result import json_schema


def configure(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--indent", type=int, default=2, help="JSON indentation (default 2)")


def run(args: argparse.Namespace) -> int:
    print(json.dumps(json_schema(), indent=args.indent))
    return 0
