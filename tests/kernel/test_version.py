"""The release version the code shows (webhook User-Agent) is the one pyproject.toml declares."""

import tomllib
from pathlib import Path

import careos


def test_the_release_version_is_the_one_in_pyproject():
    pyproject = tomllib.loads((Path(__file__).parents[2] / "pyproject.toml").read_text())
    assert careos.__version__ == pyproject["project"]["version"]
