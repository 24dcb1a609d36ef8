"""The ``edgekit`` command: one subcommand per pipeline step.

Each subcommand lives in ``edgekit/commands/<name>.py`` with ``add_parser(sub)`` and ``run(args)``.
Building the parser imports only argparse-level code; heavy imports happen inside ``run``.
"""
from __future__ import annotations

import argparse
import importlib
import sys

from .errors import EdgekitError

COMMANDS = ["demo", "distill", "convert", "quantize", "eval", "profile", "targets", "bundle", "report"]


def build_parser() -> argparse.ArgumentParser:
    from . import __version__

    parser = argparse.ArgumentParser(prog="edgekit", description="Get a trained network onto a device.")
    parser.add_argument("--version", action="version", version=f"edgekit {__version__}")
    parser.add_argument("--debug", action="store_true", help="show full tracebacks on errors")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    for name in COMMANDS:
        try:
            module = importlib.import_module(f".commands.{name}", __package__)
        except ModuleNotFoundError as exc:  # a command not built yet is simply not offered
            if exc.name == f"{__package__}.commands.{name}":
                continue
            raise
        module.add_parser(sub)
    return parser


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    debug = "--debug" in argv
    parser = build_parser()
    args = parser.parse_args(argv)
    if not getattr(args, "func", None):
        parser.print_help()
        return 2
    try:
        return int(args.func(args) or 0)
    except EdgekitError as exc:
        if debug:
            raise
        print(f"edgekit {args.command}: error: {exc.line()}", file=sys.stderr)
        return exc.exit_code
    except KeyboardInterrupt:
        if debug:
            raise
        print(f"edgekit {args.command}: interrupted; no partial output was kept.", file=sys.stderr)
        return 130


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
