"""Command-line entry points: user errors as one line, bugs with their traceback."""
import os
import sys
from typing import Callable

from tqdm import tqdm

from ..errors import InputError

DEBUG_FLAG = "--debug"
DEBUG_ENV = "SISIEG_DEBUG"
# What counts as the user's to fix: our input errors and files that do not exist.
USER_ERRORS = (InputError, FileNotFoundError)


def user_message(error: Exception) -> str:
    """The one line a user error prints (a KeyError's message without its quotes)."""
    return str(error.args[0]) if isinstance(error, KeyError) and error.args else str(error)


def debugging() -> bool:
    """Whether tracebacks of user errors are wanted (``--debug`` or ``SISIEG_DEBUG=1``)."""
    return DEBUG_FLAG in sys.argv or os.environ.get(DEBUG_ENV, "") not in ("", "0")


def strip_debug_flag(argv=None):
    """``argv`` (default ``sys.argv``) without ``--debug``, so argparse never sees it."""
    argv = sys.argv if argv is None else argv
    argv[:] = [a for a in argv if a != DEBUG_FLAG]
    return argv


def run(main: Callable, *args, **kwargs):
    """``main(*args, **kwargs)``; a user error ends the program with its message on one line
    (exit status 2) unless debugging, where its traceback is kept."""
    debug = debugging()
    strip_debug_flag()
    try:
        return main(*args, **kwargs)
    except USER_ERRORS as e:
        if debug:
            raise
        print(f"error: {user_message(e)}", file=sys.stderr)
        sys.exit(2)


class FailureReport:
    """The inputs a batch tool could not process: one console line each (no traceback) and a
    line ``<input>\t<problem>`` in ``path``, written as they happen."""

    def __init__(self, path: str):
        self.path = path
        self.failures = []
        if os.path.exists(path):
            os.remove(path)  # a report describes one run

    def add(self, name: str, error: Exception):
        message = user_message(error)
        self.failures.append((name, message))
        tqdm.write(f"failed: {message if name in message else f'{name}: {message}'}", file=sys.stderr)
        with open(self.path, "a", encoding="utf-8") as f:
            f.write(f"{name}\t{message}\n")

    def summary(self, done: int, where: str) -> str:
        if not self.failures:
            return f"{done} written to {where}"
        return f"{done} written to {where}, {len(self.failures)} failed: see {self.path}"
