"""`make demo`: serves on PORT (always on 127.0.0.1), refuses a bad PORT before doing any work,
and installs its environment once: the runtime dependencies only, or nothing at all when
make test's full environment is already there."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent


def _make(*args: str, cwd: Path = ROOT, **env: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        ["make", "--no-print-directory", *args],
        cwd=cwd,
        env={**os.environ, **env},
        capture_output=True,
        text=True,
        timeout=120,
        stdin=subprocess.DEVNULL,
    )


def test_port_chooses_where_the_demo_serves_and_the_host_stays_loopback():
    # HOST in the environment (some shells export it) must not move the demo off loopback.
    plan = _make("-n", "demo", "PORT=8123", HOST="0.0.0.0").stdout
    assert "manage.py demo_backfill --url http://127.0.0.1:8123/" in plan
    assert "manage.py runserver 127.0.0.1:8123" in plan
    assert "seed_demo --if-missing --no-logins" in plan
    # the small English-language organization beside the Brazilian one
    assert "seed_demo --org demo-en --locale en --accounts 150" in plan
    assert "demo_backfill --org demo-en --days 90 --url http://127.0.0.1:8123/" in plan
    # both organizations' NPS campaign, before the backfill prints the logins
    assert "manage.py survey_demo --org demo-en" in plan and "manage.py survey_demo\n" in plan
    default = _make("-n", "demo").stdout
    assert "manage.py runserver 127.0.0.1:8000" in default


FAKE_PYTHON = textwrap.dedent(
    """\
    #!/bin/sh
    # Records how the Makefile calls the environment's python; runs the real one for -c.
    echo "$*" >> "$(dirname "$0")/calls.log"
    if [ "$1" = "-c" ]; then exec {python} "$@"; fi
    """
)


@pytest.fixture
def checkout(tmp_path: Path) -> Path:
    """The Makefile and pyproject.toml in a folder whose .venv/bin/python only records."""
    for name in ("Makefile", "pyproject.toml"):
        shutil.copy(ROOT / name, tmp_path / name)
    bin_dir = tmp_path / ".venv" / "bin"
    bin_dir.mkdir(parents=True)
    python = bin_dir / "python"
    python.write_text(FAKE_PYTHON.format(python=sys.executable))
    python.chmod(0o755)
    return tmp_path


def _calls(checkout: Path) -> list[str]:
    log = checkout / ".venv" / "bin" / "calls.log"
    return log.read_text().splitlines() if log.exists() else []


def test_the_demo_installs_the_runtime_dependencies_once(checkout):
    result = _make(".venv/.installed-demo", cwd=checkout)
    assert result.returncode == 0, result.stderr

    installs = [c for c in _calls(checkout) if c.startswith("-m pip install")]
    assert len(installs) == 1 and "--no-compile -r .venv/demo-requirements.txt" in installs[0]
    requirements = (checkout / ".venv" / "demo-requirements.txt").read_text().split()
    assert "Django==5.2.19" in requirements
    assert not [r for r in requirements if r.startswith(("pytest", "playwright", "ruff"))]
    assert any(c.startswith("-m compileall") for c in _calls(checkout))

    before = _calls(checkout)
    assert _make(".venv/.installed-demo", cwd=checkout).returncode == 0
    assert _calls(checkout) == before, "a second make demo installed again"


def test_after_make_env_the_demo_installs_nothing(checkout):
    (checkout / ".venv" / ".installed").touch()  # make env's stamp, newer than pyproject.toml

    result = _make(".venv/.installed-demo", cwd=checkout)

    assert result.returncode == 0, result.stderr
    assert (checkout / ".venv" / ".installed-demo").exists()
    assert not [c for c in _calls(checkout) if "pip" in c]


@pytest.mark.parametrize("port", ["abc", "0", "08000", "65536", "80 81"])
def test_a_bad_port_is_refused_in_one_line_before_any_work(checkout, port):
    started = time.monotonic()
    result = _make("demo", f"PORT={port}", cwd=checkout)
    assert result.returncode != 0
    assert f"make demo: PORT must be a port number, 1-65535 (got '{port}')" in result.stderr
    assert "manage.py" not in result.stdout + result.stderr
    assert _calls(checkout) == [], "installed before checking the port"
    assert time.monotonic() - started < 10
