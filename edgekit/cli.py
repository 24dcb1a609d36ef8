"""The ``edgekit`` command: one subcommand per pipeline step.

Each subcommand lives in ``edgekit/commands/<name>.py`` with ``add_parser(sub)`` and ``run(args)``.
Building the parser imports only argparse-level code; heavy imports happen inside ``run``.
"""
from __future__ import annotations

import argparse
import importlib
import sys

from .errors import EdgekitError


class _Parser(argparse.ArgumentParser):
    """argparse, but a usage mistake is one line like every other error (issue 2, section 5).

    argparse's default prints the whole usage block before its message; the subcommand parsers made by
    ``add_subparsers`` inherit this class, so ``edgekit profile --threads abc`` is covered too.
    """

    def error(self, message: str):
        print(f"{self.prog}: error: {message}. Run `{self.prog} --help` for the options.", file=sys.stderr)
        raise SystemExit(2)


COMMANDS = ["demo", "distill", "convert", "quantize", "eval", "profile", "targets", "bundle", "report", "keygen"]


def build_parser() -> argparse.ArgumentParser:
    from . import __version__

    parser = _Parser(prog="edgekit", description="Get a trained network onto a device.")
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
    parser = build_parser()
    args = parser.parse_args(argv)
    debug = args.debug  # parsed, not searched for: "--json --debug" names an output file, not the flag
    if not getattr(args, "func", None):
        parser.print_help()
        return 2
    if not debug:  # a warning is one line too, not python's "file:line: Category: ..." plus a source line
        import warnings

        warnings.showwarning = lambda message, *_a, **_k: print(
            f"edgekit {args.command}: warning: {message}", file=sys.stderr)
    try:
        return int(args.func(args) or 0)
    except EdgekitError as exc:
        if debug:
            raise
        print(f"edgekit {args.command}: error: {exc.line()}", file=sys.stderr)
        return exc.exit_code
    except BrokenPipeError:  # `edgekit targets --json | head`: the reader left; that is not an error of ours
        # Python would report the failed flush of stdout at exit; point it at /dev/null (the stdlib's advice).
        import os

        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 141  # 128 + SIGPIPE, what a shell tool killed by the broken pipe would return
    except OSError as exc:  # a path edgekit could not read or write that no check caught first
        if debug:
            raise
        where = f" ({exc.filename})" if exc.filename else ""
        print(f"edgekit {args.command}: error: {exc.strerror or exc}{where}. Check the path and its permissions "
              "(--debug shows where it happened).", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        if debug:
            raise
        print(f"edgekit {args.command}: interrupted; no partial output was kept.", file=sys.stderr)
        return 130


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
