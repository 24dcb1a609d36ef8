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


class Terminated(KeyboardInterrupt):
    """SIGTERM, raised where the process is so that ``finally`` blocks and atomic writes clean up as for
    Ctrl-C (Python's default SIGTERM ends the process at once, leaving temporary files behind)."""


def _on_sigterm(signum, frame):
    raise Terminated()


def main(argv: list[str] | None = None) -> int:
    import signal

    argv = sys.argv[1:] if argv is None else argv
    ours = _main_thread()  # signal.signal works there only
    previous = signal.getsignal(signal.SIGTERM) if ours else None
    if ours:  # for the length of the command; the caller's handler (Ray's, an app's) comes back after
        signal.signal(signal.SIGTERM, _on_sigterm)
    try:
        return _main(argv)
    finally:  # also after argparse's SystemExit (--help, a usage error)
        if ours:
            signal.signal(signal.SIGTERM, previous if previous is not None else signal.SIG_DFL)


def _main(argv: list[str]) -> int:
    try:  # Ctrl-C while the command modules are still importing is an interrupt too, not a traceback
        parser = build_parser()
        args = parser.parse_args(argv)
    except KeyboardInterrupt as exc:
        if "--debug" in argv:
            raise
        return _interrupted("", exc)
    if not getattr(args, "func", None):
        parser.print_help()
        return 2
    return _run(args, args.debug)  # parsed, not searched for: "--json --debug" names an output file


def _main_thread() -> bool:
    import threading

    return threading.current_thread() is threading.main_thread()  # signal.signal works there only


def _interrupted(command: str, exc: BaseException) -> int:
    name = f"edgekit {command}".strip()
    if isinstance(exc, Terminated):
        print(f"{name}: terminated (SIGTERM); no partial output was kept.", file=sys.stderr)
        return 143  # 128 + SIGTERM
    print(f"{name}: interrupted; no partial output was kept.", file=sys.stderr)
    return 130


def _run(args, debug: bool) -> int:
    try:
        from ._tmp import clean_stale

        clean_stale()  # temp directories of edgekit runs that were killed (SIGKILL, power loss)
    except KeyboardInterrupt as exc:
        return _interrupted(args.command, exc)
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
    except KeyboardInterrupt as exc:  # also SIGTERM (Terminated)
        if debug:
            raise
        return _interrupted(args.command, exc)
    except RecursionError:  # 100,000-deep JSON, 5,000-deep TOML: a parser recursed through it
        if debug:
            raise
        print(f"edgekit {args.command}: error: an input file is nested too deeply to read (a hostile or corrupt "
              "file). Check the JSON/TOML files given to this command.", file=sys.stderr)
        return 2
    except MemoryError:
        if debug:
            raise
        print(f"edgekit {args.command}: error: out of memory. Use a smaller model or data, or a machine with "
              "more memory.", file=sys.stderr)
        return 2
    except Exception as exc:  # a failure no check turned into an EdgekitError: still one line, and it is ours
        if debug:
            raise
        text = str(exc).strip().splitlines()[0][:200] if str(exc).strip() else ""
        print(f"edgekit {args.command}: internal error: {type(exc).__name__}{': ' + text if text else ''}. "
              "This is an edgekit bug; run again with --debug for the traceback and report it.", file=sys.stderr)
        return 70  # EX_SOFTWARE


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
