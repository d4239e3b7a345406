"""``chalice package`` and ``chalice local`` inside a service folder refuse in one line, with a
non-zero status, instead of shipping a zip that fails on import or serving 500s."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
CHALICE = Path(sys.executable).with_name("chalice")


@pytest.mark.parametrize("args", [["package", "out"], ["local", "--port", "0"]])
def test_bare_chalice_refuses_in_one_line(args: list[str], tmp_path: Path) -> None:
    if args[0] == "package":
        args = ["package", str(tmp_path / "out")]
    done = subprocess.run(
        [str(CHALICE), *args], cwd=ROOT / "services" / "coupons", capture_output=True, text=True, timeout=60
    )
    assert done.returncode != 0, done
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("chalice: this service is not run by the chalice command")
    assert "campaign package NAME" in lines[0] and "make run" in lines[0]
    assert not (tmp_path / "out").exists()
