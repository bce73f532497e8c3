"""The wheel carries the templates, installs in a fresh virtual environment and scans from elsewhere."""

from __future__ import annotations

import subprocess
import sys
import venv
import zipfile
from pathlib import Path

import pytest

from .conftest import PROJECT, SAMPLES


@pytest.mark.slow
def test_wheel_installs_and_scans_from_another_directory(tmp_path: Path) -> None:
    dist = tmp_path / "dist"
    subprocess.run(
        [sys.executable, "-m", "build", "--wheel", "--no-isolation", "--outdir", str(dist), str(PROJECT)],
        check=True,
        capture_output=True,
    )
    wheel = next(dist.glob("kappa_migrate-*.whl"))
    names = zipfile.ZipFile(wheel).namelist()
    assert "templates/scan_summary.md.j2" in names
    assert "analyzer/cli.py" in names and not any(n.startswith(("tests/", "samples/")) for n in names)

    # the fresh environment sees the machine's packages (no download) but not this checkout
    environment = tmp_path / "venv"
    venv.EnvBuilder(with_pip=True, system_site_packages=True).create(environment)
    python = environment / "bin" / "python"
    subprocess.run(
        [python, "-m", "pip", "install", "--no-deps", "--no-index", "--force-reinstall", str(wheel)],
        check=True,
        capture_output=True,
    )
    kappa = environment / "bin" / "kappa"
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    help_text = subprocess.run([kappa, "--help"], cwd=elsewhere, check=True, capture_output=True, text=True).stdout
    assert "scan" in help_text
    located = subprocess.run(
        [python, "-c", "import analyzer, sys; print(analyzer.__file__)"],
        cwd=elsewhere,
        check=True,
        capture_output=True,
        text=True,
    ).stdout
    assert str(PROJECT) not in located, "the test must exercise the installed wheel, not the checkout"
    command = [kappa, "scan", str(SAMPLES), "--format", "markdown"]
    result = subprocess.run(command, cwd=elsewhere, capture_output=True, text=True, check=False)
    assert result.returncode == 0, result.stderr
    assert result.stdout.startswith("## kappa scan:")
