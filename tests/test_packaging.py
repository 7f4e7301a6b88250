"""Every Python package in the tree is listed in pyproject.toml, so `pip install .` ships it."""

import tomllib

from conftest import REPO


def test_every_package_is_listed():
    config = tomllib.loads((REPO / "pyproject.toml").read_text())
    listed = set(config["tool"]["setuptools"]["packages"])
    found = {
        ".".join(init.parent.relative_to(REPO).parts)
        for top in ("models", "crawlers", "matcher")
        for init in (REPO / top).rglob("__init__.py")
    }
    assert found <= listed, f"missing from pyproject.toml packages: {sorted(found - listed)}"
    assert config["tool"]["setuptools"]["package-dir"]["trialmatch_data"] == "data"


def test_models_import_nothing_of_ours():
    for path in (REPO / "models").rglob("*.py"):
        source = path.read_text()
        for package in ("matcher", "crawlers"):
            assert f"from {package}" not in source and f"import {package}" not in source, path
