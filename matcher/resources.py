"""Locate the data files shipped in data/ (installed as the package ``trialmatch_data``)."""

from __future__ import annotations

from pathlib import Path


def data_dir() -> Path:
    source_tree = Path(__file__).resolve().parent.parent / "data"
    if (source_tree / "__init__.py").is_file():
        return source_tree
    import trialmatch_data  # installed wheel

    return Path(trialmatch_data.__file__).parent


def data_path(*parts: str) -> Path:
    return data_dir().joinpath(*parts)
