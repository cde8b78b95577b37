"""The ``trial-analysis`` console command.

Each sub-command lives in its own module in this package and defines
``add_parser(subparsers)``, which registers the sub-command and sets ``func`` (taking the
parsed ``argparse.Namespace`` and returning an exit code). Add a new command by adding its
module name to :data:`COMMANDS`.

No traceback reaches a user: :func:`main` turns every error into one line on stderr,
``trial-analysis: error: <message>``, and an exit code (documented in ``docs/limits.md``
and the README):

====  ==========================================================================
0     success
1     the data failed validation (``validate``; the problems are listed)
2     usage or input error: bad option, bad file, refused by a limit, an output
      that cannot be written, an analysis that cannot be done (any
      :class:`~trial_analysis.errors.TrialAnalysisError` or ``OSError``)
130   interrupted (Ctrl-C or SIGTERM), also during start-up
====  ==========================================================================

An unexpected exception (a bug) prints one line asking for a report, exit code 3; set
``TRIAL_ANALYSIS_DEBUG=1`` to see the traceback.

Ctrl-C during start-up is answered the same way: the console command's entry point is
:func:`main`, whose first statement opens the ``try`` that maps ``KeyboardInterrupt`` to exit
130 and one line. Before it run only ``trial_analysis/__init__.py`` and this module, which
import nothing at module level but ``os`` and ``sys`` (already loaded by the interpreter);
``signal`` (which imports ``enum``), ``argparse``, the exception classes, the sub-commands
and the numerics are imported inside :func:`main`. A Ctrl-C while the interpreter itself
starts (before any of the package's code) ends the process by the signal, without output (a
shell reports 130), or with Python's own message.
"""

from __future__ import annotations

import os
import sys

TYPE_CHECKING = False
if TYPE_CHECKING:  # pragma: no cover
    import argparse
    from collections.abc import Sequence
del TYPE_CHECKING

__all__ = [
    "COMMANDS",
    "EXIT_INTERRUPTED",
    "EXIT_INVALID",
    "EXIT_OK",
    "EXIT_USAGE",
    "build_parser",
    "main",
]

EXIT_OK, EXIT_INVALID, EXIT_USAGE, EXIT_BUG, EXIT_INTERRUPTED = 0, 1, 2, 3, 130

COMMANDS = [
    "design",
    "published",
    "validate",
    "reanalyze",
    "power",
    "sequential",
    "meta",
    "survival",
    "report",
]


def build_parser() -> argparse.ArgumentParser:
    import argparse
    import importlib

    from .. import __version__

    parser = argparse.ArgumentParser(
        prog="trial-analysis",
        description="Statistical reanalysis of published clinical trials.",
        epilog="Run 'trial-analysis COMMAND --help' for a command's options.",
    )
    parser.add_argument("--version", action="version", version=f"trial-analysis {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    for name in COMMANDS:  # every command's module exists; a missing one fails loudly
        importlib.import_module(f".{name}", __name__).add_parser(sub)
    return parser


class _Terminated(BaseException):
    """SIGTERM, raised in the main thread so that ``finally`` blocks (temp files) run."""


def _on_sigterm(signum, frame):  # pragma: no cover - exercised through a subprocess
    raise _Terminated


def _one_line(msg: object) -> str:
    text = " ".join(str(msg).split()) if "\n" not in str(msg) else str(msg)
    return text or type(msg).__name__


def _os_message(exc: OSError) -> str:
    where = exc.filename if exc.filename is not None else ""
    reason = exc.strerror or str(exc) or type(exc).__name__
    return f"{where}: {reason}" if where else reason


def _error(msg: str) -> None:
    print(f"trial-analysis: error: {msg}", file=sys.stderr)


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command; returns the exit code (never raises, except ``SystemExit`` of --help)."""
    try:  # the first statement: a Ctrl-C from here on is exit 130 and one line
        return _with_sigterm(argv)
    except (KeyboardInterrupt, _Terminated):
        return _interrupted()


def _with_sigterm(argv: Sequence[str] | None) -> int:
    """:func:`_main` with SIGTERM raised as :class:`_Terminated` (so ``finally`` blocks run)."""
    import signal

    try:
        old = signal.signal(signal.SIGTERM, _on_sigterm)
    except ValueError:  # not the main thread (e.g. called from a test runner's worker)
        old = None
    try:
        return _main(argv)
    finally:
        if old is not None:
            signal.signal(signal.SIGTERM, old)


def _interrupted() -> int:
    try:  # noqa: SIM105 - contextlib is not imported for this
        print("trial-analysis: interrupted", file=sys.stderr)
    except (KeyboardInterrupt, _Terminated):  # a second Ctrl-C while printing the line
        pass
    return EXIT_INTERRUPTED


def _main(argv: Sequence[str] | None) -> int:
    from ..errors import TrialAnalysisError

    parser = build_parser()
    args = parser.parse_args(argv)
    if not getattr(args, "func", None):
        parser.print_help()
        return EXIT_OK
    try:
        return int(args.func(args) or 0)
    except TrialAnalysisError as exc:
        # a DataValidationError keeps its list of problems (several lines, by design)
        _error(_one_line(exc))
        return EXIT_USAGE
    except MemoryError:
        _error(
            "out of memory; the computation is larger than this machine allows (see "
            "docs/limits.md for the limits that refuse such work before it starts)"
        )
        return EXIT_USAGE
    except OSError as exc:  # disk full, read-only folder, a folder given as a file, ...
        _error(_os_message(exc))
        return EXIT_USAGE
    except (KeyboardInterrupt, _Terminated):
        raise
    except Exception as exc:  # a bug: one line, the traceback on request
        if os.environ.get("TRIAL_ANALYSIS_DEBUG"):
            raise
        _error(
            f"internal error ({type(exc).__name__}: {_one_line(exc)}); please report it with "
            "the command line (TRIAL_ANALYSIS_DEBUG=1 shows the traceback)"
        )
        return EXIT_BUG


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
