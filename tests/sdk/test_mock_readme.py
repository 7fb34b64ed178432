"""The README's complete test file for a portal using the mock runs as written."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

README = Path(__file__).resolve().parents[2] / "clients" / "README.md"


def test_the_readmes_portal_and_its_test_file_pass_as_written(tmp_path):
    section = README.read_text(encoding="utf-8").split("### A complete test file", 1)[1].split("### ", 1)[0]
    portal, test_file = re.findall(r"```python\n(.*?)```", section, flags=re.DOTALL)
    (tmp_path / "portal.py").write_text(portal, encoding="utf-8")
    (tmp_path / "test_portal.py").write_text(test_file, encoding="utf-8")

    run = subprocess.run(
        [
            sys.executable,
            "-m",
            "pytest",
            "-q",
            "-p",
            "no:randomly",
            "-p",
            "no:cacheprovider",
            "-W",
            "ignore",
            "test_portal.py",
        ],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=120,
    )

    assert run.returncode == 0, run.stdout[-3000:]
    assert "4 passed" in run.stdout
