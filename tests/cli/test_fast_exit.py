"""`aifinops import events` ends its process without the interpreter's teardown, and
loses nothing: the summary is printed, the ledger complete and closed, the threads
joined, the ``atexit`` handlers run, the exit code kept."""

from __future__ import annotations

import os
import sqlite3
import subprocess
import sys
from pathlib import Path

SAMPLE = Path(__file__).resolve().parents[2] / "src" / "aifinops" / "data" / "sample_day.jsonl"

# the console entry point, with an atexit handler registered first (it runs last) and an
# object only the interpreter's teardown deletes
ENTRY = """
import atexit, sys
atexit.register(lambda: print("atexit ran", file=sys.stderr))
class Teardown:
    def __del__(self):
        print("teardown ran", file=sys.stderr)
kept = Teardown()
from aifinops.cli import main
main()
"""


def run_cli(
    args: list[str], cwd: Path, stdin: str | None = None, env: dict[str, str] | None = None
) -> subprocess.CompletedProcess[str]:
    environ = {k: v for k, v in os.environ.items() if not k.startswith("AIFINOPS_")}
    environ["AIFINOPS_DATABASE_URL"] = f"sqlite:///{cwd / 'ledger.db'}"
    environ.update(env or {})
    return subprocess.run(
        [sys.executable, "-c", ENTRY, *args],
        cwd=cwd,
        env=environ,
        input=stdin,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def count(ledger: Path) -> tuple[int, int]:
    conn = sqlite3.connect(ledger)
    try:
        events = conn.execute("SELECT count(*) FROM usage_events").fetchone()[0]
        calls = conn.execute("SELECT coalesce(sum(calls), 0) FROM rollup_hourly").fetchone()[0]
    finally:
        conn.close()
    return int(events), int(calls)


def test_an_import_exits_fast_with_everything_written(tmp_path: Path) -> None:
    proc = run_cli(["import", "events", str(SAMPLE)], tmp_path)
    assert proc.returncode == 0, proc.stderr
    assert "imported 400, duplicates skipped 0, rejected 0" in proc.stdout
    assert proc.stderr.strip().endswith("atexit ran")
    assert "teardown ran" not in proc.stderr  # the process ended without it
    # the ledger was closed: its WAL checkpointed into the file and removed
    assert not (tmp_path / "ledger.db-wal").exists()
    assert count(tmp_path / "ledger.db") == (400, 400)


def test_an_import_with_rejected_rows_keeps_exit_code_1(tmp_path: Path) -> None:
    bad = tmp_path / "bad.jsonl"
    bad.write_text(SAMPLE.read_text() + "{not json\n")
    proc = run_cli(["import", "events", str(bad)], tmp_path)
    assert proc.returncode == 1
    assert "line 401" in proc.stderr and "rejected 1" in proc.stdout
    assert count(tmp_path / "ledger.db") == (400, 400)


def test_other_commands_exit_as_usual(tmp_path: Path) -> None:
    proc = run_cli(["ledger", "status"], tmp_path)
    assert proc.returncode == 0, proc.stderr
    assert proc.stderr.strip().splitlines()[-2:] == ["atexit ran", "teardown ran"]


def test_stdin_is_spooled_to_a_file_that_is_removed_after(tmp_path: Path) -> None:
    spool = tmp_path / "tmp"
    spool.mkdir()
    proc = run_cli(
        ["import", "events", "-"], tmp_path, stdin=SAMPLE.read_text(), env={"TMPDIR": str(spool)}
    )
    assert proc.returncode == 0, proc.stderr
    assert "imported 400" in proc.stdout
    assert list(spool.iterdir()) == []


def test_exit_now_does_what_a_normal_exit_does_first(tmp_path: Path) -> None:
    marker = tmp_path / "written-by-thread"
    probe = f"""
import atexit, sys, threading, time
from pathlib import Path
from aifinops.cli.fast_exit import exit_now
atexit.register(lambda: print("atexit ran", flush=False))
def late():
    time.sleep(0.3)
    Path({str(marker)!r}).write_text("done")
threading.Thread(target=late).start()
sys.stdout.write("buffered, not flushed")
exit_now(sys.argv[1] if sys.argv[1] == "message" else int(sys.argv[1]))
"""
    for code, status in (("0", 0), ("3", 3), ("message", 1)):
        marker.unlink(missing_ok=True)
        proc = subprocess.run(
            [sys.executable, "-c", probe, code],
            capture_output=True,
            text=True,
            timeout=60,
            check=False,
        )
        assert proc.returncode == status
        assert proc.stdout == "buffered, not flushedatexit ran\n"
        assert marker.read_text() == "done"  # the thread was joined, not killed
        assert proc.stderr == ("message\n" if code == "message" else "")
