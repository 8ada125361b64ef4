"""The FinOps Foundation's focus-validator, in a Python 3.12 venv of its own.

focus-validator 2.x needs Python >= 3.12 (this project runs on 3.11), so a session
fixture creates ``.venv-focus/`` at the repository root once (cached across runs,
ignored by git) with ``focus_validator==2.2.1`` and then ``numpy>=2`` (its pyarrow
refuses numpy 1.26; pip's resolver cannot take both in one command). Without a
``python3.12`` the tests using it skip with the reason — unless
``AIFINOPS_TEST_REQUIRE_SERVICES=1`` (CI), where they fail.
"""

from __future__ import annotations

import fcntl
import glob
import os
import re
import shutil
import subprocess
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
VENV = ROOT / ".venv-focus"
STAMP = VENV / ".aifinops-ready"
REQUIREMENTS = (("focus_validator==2.2.1",), ("numpy>=2",))
SUMMARY = re.compile(r"Total: (\d+) \| Pass: (\d+) \| Fail: (\d+) \| Skipped: (\d+)")
FAILED_RULE = re.compile(r"^❌ (\S+): FAIL", re.MULTILINE)
PASSED_RULE = re.compile(r"^✅ (\S+): PASS", re.MULTILINE)


@dataclass(frozen=True)
class ValidatorReport:
    total: int
    passed: int
    failed: int
    skipped: int
    failed_rules: frozenset[str]
    passed_rules: frozenset[str]
    output: str


def _unavailable(reason: str) -> None:
    if os.environ.get("AIFINOPS_TEST_REQUIRE_SERVICES") == "1":
        pytest.fail(reason)
    pytest.skip(reason)


def _works(python: str) -> bool:
    try:
        done = subprocess.run(
            [python, "--version"], check=False, capture_output=True, text=True, timeout=30
        )
    except (OSError, subprocess.TimeoutExpired):
        return False
    return done.returncode == 0 and done.stdout.startswith("Python 3.12")


def find_python312() -> str | None:
    candidates = [shutil.which("python3.12") or ""]
    pyenv = os.environ.get("PYENV_ROOT", str(Path.home() / ".pyenv"))
    candidates += sorted(glob.glob(f"{pyenv}/versions/3.12*/bin/python3.12"), reverse=True)
    return next((c for c in candidates if c and _works(c)), None)


def _create(python: str) -> float:
    started = time.perf_counter()
    if VENV.exists():
        shutil.rmtree(VENV)
    subprocess.run([python, "-m", "venv", str(VENV)], check=True, capture_output=True)
    pip = [str(VENV / "bin" / "python"), "-m", "pip", "install", "--quiet"]
    pip.append("--disable-pip-version-check")
    for packages in REQUIREMENTS:
        done = subprocess.run(
            [*pip, *packages], check=False, capture_output=True, text=True, timeout=900
        )
        if done.returncode != 0:
            raise RuntimeError(f"pip install {' '.join(packages)} failed:\n{done.stderr[-2000:]}")
    seconds = time.perf_counter() - started
    STAMP.write_text(
        f"{' '.join(p for ps in REQUIREMENTS for p in ps)}\ncreated in {seconds:.1f}s\n"
    )
    return seconds


def _site_packages() -> Path:
    found = sorted((VENV / "lib").glob("python3.12/site-packages"))
    if not found:
        raise RuntimeError(f"{VENV} has no python3.12 site-packages")
    return found[0]


@pytest.fixture(scope="session")
def focus_validator() -> Callable[[Path], ValidatorReport]:
    """A function that validates a FOCUS file against 1.2 (offline) and parses the summary."""
    python = find_python312()
    if python is None:
        _unavailable("the FOCUS validator needs python3.12 (pyenv install 3.12), not found")
    assert python is not None
    VENV.parent.mkdir(exist_ok=True)
    with (ROOT / ".venv-focus.lock").open("w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if not STAMP.exists():
            try:
                _create(python)
            except (RuntimeError, subprocess.SubprocessError, OSError) as exc:
                _unavailable(f"could not create {VENV}: {exc}")
    (ROOT / ".venv-focus.lock").unlink(missing_ok=True)
    site = _site_packages()

    def validate(data_file: Path) -> ValidatorReport:
        command = [
            str(VENV / "bin" / "python"),
            "-m",
            "focus_validator.main",
            "--data-file",
            str(data_file.resolve()),
            "--validate-version",
            "1.2.0.1",
            "--block-download",
            "--show-violations",
        ]
        # run from site-packages: it opens focus_validator/rules/currency_codes.csv relative
        # to the working directory; it exits 0 even when rules fail, so read the summary
        done = subprocess.run(
            command, check=False, cwd=site, capture_output=True, text=True, timeout=600
        )
        output = done.stdout + done.stderr
        match = SUMMARY.search(output)
        if match is None:
            raise AssertionError(f"focus-validator printed no summary:\n{output[-3000:]}")
        total, passed, failed, skipped = (int(g) for g in match.groups())
        return ValidatorReport(
            total,
            passed,
            failed,
            skipped,
            frozenset(FAILED_RULE.findall(output)),
            frozenset(PASSED_RULE.findall(output)),
            output,
        )

    return validate
