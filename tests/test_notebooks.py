"""The committed report notebooks are current and run top to bottom (smoke mode: a few steps each)."""

import sys
from pathlib import Path

import nbformat
import pytest

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "notebooks"))

from make_notebooks import execute, notebooks  # noqa: E402

NOTEBOOKS = sorted((ROOT / "notebooks").glob("*.ipynb")) + [ROOT / "Conclusion.ipynb"]


def test_every_report_notebook_is_committed_and_current():
    built = notebooks()
    assert sorted(built) == sorted(NOTEBOOKS)
    for path, notebook in built.items():
        committed = nbformat.read(path, as_version=4)
        # Same cells as the builder writes (outputs aside): edit make_notebooks.py, not the files.
        assert [cell.source for cell in committed.cells] == [cell.source for cell in notebook.cells], path.name


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.name)
def test_notebook_runs_in_smoke_mode(path, tmp_path, monkeypatch):
    monkeypatch.setenv("GANS_KERAS_SMOKE", "1")
    monkeypatch.setenv("GANS_KERAS_RUNS", str(tmp_path / "runs"))
    monkeypatch.setenv("GANS_KERAS_CACHE", str(tmp_path / "cache"))
    notebook = nbformat.read(path, as_version=4)
    execute(notebook, path, timeout=600)  # raises on the first failing cell
    assert all(output.output_type != "error" for cell in notebook.cells for output in cell.get("outputs", []))
