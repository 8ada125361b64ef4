"""Ending the `aifinops` process at once when a command that asked for it is done.

After a big import the interpreter's own teardown (freeing every object the process
still holds: modules, caches, the heap frozen for the import's collector) took ≈ 0.3 s
of wall time, after the ledger had been committed and closed (docs/benchmarks.md, "The
import's end"). A command whose resources are all released — its ledger disposed, its
files closed — calls `exit_fast_when_done`; `aifinops.cli.main` then ends the process with
`os._exit` after doing what a normal exit does first: joining the threads that are not
daemons, running the ``atexit`` handlers (which also close what `weakref.finalize`
holds) and flushing stdout and stderr. Only the console entry point does this: a command
run in-process (tests, Typer's runner) returns as usual.
"""

from __future__ import annotations

import atexit
import os
import sys
import threading
from typing import NoReturn

_requested = False


def exit_fast_when_done() -> None:
    """Let `aifinops.cli.main` skip the interpreter's teardown once this command ends."""
    global _requested  # noqa: PLW0603 (one flag for the one command a process runs)
    _requested = True


def requested() -> bool:
    return _requested


def exit_now(code: object) -> NoReturn:
    """End the process as `SystemExit(code)` would, without the interpreter's teardown."""
    if code is None:
        status = 0
    elif isinstance(code, int):
        status = code
    else:
        print(code, file=sys.stderr)
        status = 1
    current = threading.current_thread()
    for thread in threading.enumerate():
        if thread is not current and not thread.daemon:
            thread.join()
    atexit._run_exitfuncs()  # what the interpreter runs at exit
    for stream in (sys.stdout, sys.stderr):
        try:
            stream.flush()
        except (OSError, ValueError):  # closed, or a broken pipe: as a normal exit
            status = status or 120
    os._exit(status)
