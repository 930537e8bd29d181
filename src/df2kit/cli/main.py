"""Entry point of the ``df2kit`` command."""

from __future__ import annotations

import argparse
import importlib
import logging
import os
import sys
import traceback
from collections.abc import Sequence

from .. import __version__
from ..errors import DF2Error

#: Sub-command modules under df2kit.cli, in the order ``--help`` lists them. Each module defines NAME,
#: HELP (one line), DESCRIPTION, EXAMPLES, add_arguments(parser) and run(args) -> exit code.
COMMANDS = (
    "validate",
    "stats",
    "synth",
    "convert",
    "pairs",
    "evaluate",
    "retrieve",
    "train",
    "predict",
    "show",
    "report",
    "demo",
)

_DESCRIPTION = """\
df2kit: read, check, convert, score and model the DeepFashion2 clothing benchmark.

Every command takes --help with examples. Exit codes: 0 ok, 1 a data problem or a
failed check, 2 usage error."""


class _Formatter(argparse.RawDescriptionHelpFormatter):
    def __init__(self, prog: str) -> None:
        super().__init__(prog, max_help_position=32, width=min(100, max(60, _term_width())))


def _term_width() -> int:
    try:
        return os.get_terminal_size().columns
    except OSError:
        return 100


def build_parser() -> argparse.ArgumentParser:
    epilog_lines = ["commands, with an example each:"]
    mods = [importlib.import_module(f"df2kit.cli.{m}") for m in COMMANDS]
    for mod in mods:
        first = mod.EXAMPLES.strip().splitlines()[0].strip()
        epilog_lines.append(f"  {mod.NAME:<10} {mod.HELP}")
        epilog_lines.append(f"  {'':<10}   {first}")
    parser = argparse.ArgumentParser(
        prog="df2kit",
        description=_DESCRIPTION,
        epilog="\n".join(epilog_lines),
        formatter_class=_Formatter,
    )
    parser.add_argument("--version", action="version", version=f"df2kit {__version__}")
    parser.add_argument("-q", "--quiet", action="store_true", help="no progress bars or info messages")
    parser.add_argument("--debug", action="store_true", help="show full tracebacks for errors")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    for mod in mods:
        sp = sub.add_parser(
            mod.NAME,
            help=mod.HELP,
            description=mod.DESCRIPTION,
            epilog="examples:\n" + "\n".join("  " + ln.strip() for ln in mod.EXAMPLES.strip().splitlines()),
            formatter_class=_Formatter,
        )
        mod.add_arguments(sp)
        sp.set_defaults(_run=mod.run)
    return parser


class _LogFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        return f"df2kit: {record.levelname.lower()}: {record.getMessage()}"


def _setup_logging(quiet: bool) -> None:
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(_LogFormatter())
    root = logging.getLogger("df2kit")
    root.handlers[:] = [handler]
    root.setLevel(logging.WARNING if quiet else logging.INFO)
    root.propagate = False


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    if not getattr(args, "_run", None):
        parser.print_help()
        return 2
    _setup_logging(args.quiet)
    args.progress = not args.quiet
    try:
        return int(args._run(args) or 0)
    except DF2Error as e:
        if args.debug:
            traceback.print_exc()
        print(f"df2kit: error: {e}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print("df2kit: interrupted", file=sys.stderr)
        return 130
    except BrokenPipeError:
        try:
            sys.stdout = open(os.devnull, "w")  # noqa: SIM115 - silence the flush at exit
        except OSError:
            pass
        return 0
    except OSError as e:
        if args.debug:
            traceback.print_exc()
        where = f"{e.filename}: " if getattr(e, "filename", None) else ""
        print(f"df2kit: error: {where}{e.strerror or e}", file=sys.stderr)
        return 1
    except MemoryError:
        print("df2kit: error: out of memory", file=sys.stderr)
        return 1
