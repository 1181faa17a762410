"""The `benchgate` command: a thin dispatcher over `benchgate.commands.*`.

Subcommand modules are imported lazily so that `benchgate compare` does not pay for
kopf or the Kubernetes client, and a missing optional dependency of one subcommand
does not break the others. `benchgate sandbox` lives in the optional `benchgate_sandbox`
package (the `sandbox` extra), which the operator image does not ship.
"""

from __future__ import annotations

import argparse
import importlib
import sys
from collections.abc import Callable, Sequence
from typing import Final, NoReturn

from benchgate import __version__

# name -> (module, one-line help). Each module defines `configure(parser)` and `run(args)`.
COMMANDS: dict[str, tuple[str, str]] = {
    "compare": ("benchgate.commands.compare", "compare two result documents and print a verdict"),
    "run": ("benchgate.commands.run", "run a suite's workloads on this machine"),
    "sandbox": ("benchgate_sandbox.command", "start the local Kubernetes sandbox and demo"),
    "operator": ("benchgate.commands.operator", "run the operator (kopf) against a cluster"),
    "promote": ("benchgate.commands.promote", "promote a passed VerificationRun to a baseline"),
    "status": ("benchgate.commands.status", "each suite's platforms at a glance, and what to do"),
    "verify": ("benchgate.commands.verify", "verify a suite's platforms now (trigger Manual)"),
    "accept": ("benchgate.commands.accept", "accept a regressed run's change as the baseline"),
    "report": ("benchgate.commands.report", "render a comparison as HTML (+ markdown) with plots"),
    "history": ("benchgate.commands.history", "each metric over runs, with change points"),
    "schema": ("benchgate.commands.schema", "print the result document's JSON Schema"),
}
# Top-level packages of subcommands that an optional extra brings -> that extra.
OPTIONAL_EXTRAS = {"benchgate_sandbox": "sandbox"}


# argparse exits 2 on a usage error, which `compare` and `run` use for "inconclusive";
# a command line that cannot be parsed is invalid input, like a bad file.
EXIT_USAGE: Final = 3


class _Parser(argparse.ArgumentParser):
    def error(self, message: str) -> NoReturn:
        self.print_usage(sys.stderr)
        self.exit(EXIT_USAGE, f"{self.prog}: error: {message}\n")


def build_parser() -> argparse.ArgumentParser:
    parser = _Parser(prog="benchgate", description=__doc__.splitlines()[0])
    parser.add_argument("--version", action="version", version=f"benchgate {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    for name, (module_name, help_text) in COMMANDS.items():
        try:
            module = importlib.import_module(module_name)
        except ModuleNotFoundError as exc:
            extra = OPTIONAL_EXTRAS.get(module_name.partition(".")[0])
            if extra is None:
                raise
            missing = sub.add_parser(name, help=f"{help_text} (needs the {extra!r} extra)")
            missing.set_defaults(_run=_needs_extra(name, extra, exc), _any_arguments=True)
            continue
        command = sub.add_parser(name, help=help_text, description=help_text)
        module.configure(command)
        command.set_defaults(_run=module.run)
    return parser


def _needs_extra(
    name: str, extra: str, exc: ModuleNotFoundError
) -> Callable[[argparse.Namespace], int]:
    def run(_args: argparse.Namespace) -> int:
        print(
            f"benchgate {name}: {exc.name} is not installed; install the {extra!r} extra: "
            f"pip install 'benchgate[{extra}]'",
            file=sys.stderr,
        )
        return EXIT_USAGE

    return run


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args, unknown = parser.parse_known_args(argv)
    if unknown and not getattr(args, "_any_arguments", False):
        parser.error(f"unrecognized arguments: {' '.join(unknown)}")
    if not getattr(args, "_run", None):
        parser.print_help()
        return EXIT_USAGE
    result: int = args._run(args)
    return result


if __name__ == "__main__":
    sys.exit(main())
