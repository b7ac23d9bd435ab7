"""The wheel carries the licence its metadata names, and tells users where the docs, source and issues are."""

from __future__ import annotations

import subprocess
import sys
import zipfile
from email.parser import Parser
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent

pytestmark = pytest.mark.packaging


@pytest.fixture(scope="module")
def wheel(tmp_path_factory: pytest.TempPathFactory) -> zipfile.ZipFile:
    """The provider's wheel, built as a release would be (isolated build, from the index's setuptools)."""
    out = tmp_path_factory.mktemp("dist")
    subprocess.run([sys.executable, "-m", "uv", "build", "-q", "--wheel", "-o", str(out), str(ROOT)],
                   check=True, capture_output=True)  # fmt: skip
    [built] = out.glob("*.whl")
    return zipfile.ZipFile(built)


def test_the_wheel_ships_the_apache_license_text(wheel: zipfile.ZipFile) -> None:
    [license_file] = [name for name in wheel.namelist() if name.endswith(".dist-info/licenses/LICENSE")]
    text = wheel.read(license_file).decode()

    assert text == (ROOT / "LICENSE").read_text()
    assert text.split()[:4] == ["Apache", "License", "Version", "2.0,"]
    assert "END OF TERMS AND CONDITIONS" in text


def test_the_metadata_names_the_license_and_the_project_urls(wheel: zipfile.ZipFile) -> None:
    [metadata_file] = [name for name in wheel.namelist() if name.endswith(".dist-info/METADATA")]
    metadata = Parser().parsestr(wheel.read(metadata_file).decode())

    assert metadata["License-Expression"] == "Apache-2.0"
    assert metadata.get_all("License-File") == ["LICENSE"]
    urls = dict(url.split(", ", 1) for url in metadata.get_all("Project-URL") or [])
    assert sorted(urls) == ["Changelog", "Documentation", "Issues", "Source"]
    assert all(url.startswith("https://") for url in urls.values())
