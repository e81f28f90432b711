"""samizdat as a user installs it: built as a wheel, installed in a fresh virtualenv, run from
an empty directory — the offline demo must start (the simulator's pages and the removal data
ship inside the package, not in the repository's tests)."""

import re
import subprocess
import sys
import sysconfig
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent


@pytest.mark.slow
def test_the_wheel_carries_what_the_demo_needs(tmp_path):
    dist = tmp_path / "dist"
    subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "-q", "--no-deps", "--no-build-isolation", "-w", dist, ROOT],
        check=True,
    )
    wheel = next(dist.glob("samizdat-*.whl"))
    venv = tmp_path / "venv"
    subprocess.run([sys.executable, "-m", "venv", venv], check=True)
    python = venv / "bin" / "python"
    subprocess.run([python, "-m", "pip", "install", "-q", "--no-deps", wheel], check=True)
    # The dependencies come from this environment (appended after the fresh one's own packages,
    # so samizdat itself is the wheel's): the test needs no network.
    site = subprocess.run(
        [python, "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
        capture_output=True, text=True, check=True,
    ).stdout.strip()  # fmt: skip
    Path(site, "dependencies.pth").write_text(sysconfig.get_paths()["purelib"] + "\n")
    where = subprocess.run(
        [python, "-c", "import samizdat; print(samizdat.__file__)"],
        capture_output=True, text=True, check=True, cwd=tmp_path,
    ).stdout.strip()  # fmt: skip
    assert where.startswith(site), where  # the installed copy, not the source tree
    demo = subprocess.run(
        [venv / "bin" / "samizdat", "--data-dir", tmp_path / "archive", "demo", "--no-serve"],
        capture_output=True, text=True, cwd=tmp_path, timeout=300,
    )  # fmt: skip
    assert demo.returncode == 0, demo.stderr[-2000:]
    confirmed = re.search(r"(\d+) of (\d+) removals detected", demo.stdout)
    assert confirmed and confirmed.group(1) == confirmed.group(2), demo.stdout[-2000:]
