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


def _third_party_imports() -> dict[str, set[str]]:
    """Top-level module → the files of ours that import it, for modules outside the stdlib."""
    import ast
    import sys

    found: dict[str, set[str]] = {}
    for top in ("models", "crawlers", "matcher"):
        for path in (REPO / top).rglob("*.py"):
            for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
                names = [a.name for a in node.names] if isinstance(node, ast.Import) else (
                    [node.module] if isinstance(node, ast.ImportFrom) and node.level == 0 and node.module else [])
                for name in names:
                    module = name.split(".")[0]
                    if module not in sys.stdlib_module_names and module not in ("models", "crawlers", "matcher",
                                                                                "trialmatch_data"):
                        found.setdefault(module, set()).add(str(path.relative_to(REPO)))
    return found


def test_every_import_is_a_declared_dependency():
    import re
    from importlib.metadata import packages_distributions

    config = tomllib.loads((REPO / "pyproject.toml").read_text())["project"]
    declared = config["dependencies"] + [d for extra in config["optional-dependencies"].values() for d in extra]
    declared_names = {re.split(r"[<>=!~\[; ]", d, maxsplit=1)[0].lower().replace("_", "-") for d in declared}
    distributions = packages_distributions()
    undeclared = {}
    for module, files in _third_party_imports().items():
        names = {d.lower().replace("_", "-") for d in distributions.get(module, [module])}
        if not names & declared_names:
            undeclared[module] = sorted(files)
    assert not undeclared, f"imported but not declared in pyproject.toml: {undeclared}"


def test_the_wheel_builds_without_warnings_and_carries_licences_and_data(tmp_path):
    import subprocess
    import sys
    import zipfile

    result = subprocess.run([sys.executable, "-m", "pip", "wheel", str(REPO), "--no-deps", "--no-build-isolation",
                             "-w", str(tmp_path), "-v"], capture_output=True, text=True, timeout=600)
    assert result.returncode == 0, result.stderr[-3000:]
    output = result.stdout + result.stderr
    assert "Warning" not in output and "is absent from the `packages` configuration" not in output, output[-3000:]
    [wheel] = tmp_path.glob("trialmatch-*.whl")
    names = zipfile.ZipFile(wheel).namelist()
    for expected in ("licenses/LICENSE", "licenses/NOTICE", "matcher/py.typed", "models/py.typed", "crawlers/py.typed",
                     "trialmatch_data/lexicons/chia-tagger.npz", "trialmatch_data/datasette/registry.yml",
                     "trialmatch_data/datasette/templates/find.html"):
        assert any(name.endswith(expected) for name in names), expected
    metadata = zipfile.ZipFile(wheel).read(next(n for n in names if n.endswith("METADATA"))).decode()
    assert "License-Expression: Apache-2.0 AND CC-BY-4.0" in metadata and "Classifier: Typing :: Typed" in metadata
    assert "Chia" in (REPO / "NOTICE").read_text() and "CC BY 4.0" in (REPO / "NOTICE").read_text()


def test_code_points_at_the_design_notes_in_the_repository():
    assert (REPO / "docs" / "design.md").is_file()
    for top in ("models", "crawlers", "matcher", "tests", "benchmarks", "scripts"):
        for path in (REPO / top).rglob("*.py"):
            if path.name != "test_packaging.py":
                assert "DESIGN.md" not in path.read_text(encoding="utf-8"), path
