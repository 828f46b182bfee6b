"""The committed report notebooks are current and run top to bottom (smoke mode: a few steps each)."""

import sys
from pathlib import Path

import nbformat
import pytest

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "notebooks"))

from make_notebooks import execute, notebooks, stale_parts  # noqa: E402

NOTEBOOKS = sorted((ROOT / "notebooks").glob("*.ipynb")) + [ROOT / "Conclusion.ipynb"]


def test_every_report_notebook_is_committed_and_current():
    built = notebooks()
    assert sorted(built) == sorted(NOTEBOOKS)
    for path, notebook in built.items():
        committed = nbformat.read(path, as_version=4)
        # Same cells as the builder writes (outputs aside): edit make_notebooks.py, not the files.
        assert [cell.source for cell in committed.cells] == [cell.source for cell in notebook.cells], path.name


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.name)
def test_committed_outputs_come_from_the_current_cells_and_package(path):
    stale = stale_parts(nbformat.read(path, as_version=4))
    assert not stale, (f"{path.name}'s outputs are older than {', '.join(stale)}: rerun python "
                       f"notebooks/make_notebooks.py --execute --only {path.name}")


def test_a_changed_package_file_or_cell_makes_a_notebook_stale(tmp_path, monkeypatch):
    import make_notebooks
    from nbformat.v4 import new_code_cell, new_notebook

    (tmp_path / "gans_keras").mkdir()
    module = tmp_path / "gans_keras" / "report.py"
    module.write_text("A = 1\n")
    results = tmp_path / "results.json"
    results.write_text("{}")
    monkeypatch.setattr(make_notebooks, "ROOT", tmp_path)
    notebook = new_notebook(cells=[new_code_cell("import gans_keras.report")])
    notebook.metadata["gans_keras_fingerprint"] = make_notebooks.fingerprint(notebook, [str(module), str(results)])
    assert stale_parts(notebook) == []
    module.write_text("A = 2\n")
    results.write_text('{"fid": 1}')
    assert stale_parts(notebook) == ["gans_keras/report.py", "results.json"]
    notebook.cells[0].source += "\nprint(1)"
    assert stale_parts(notebook)[0] == "cells"
    assert stale_parts(new_notebook()) == ["no fingerprint: never executed by make_notebooks.py --execute"]


def test_a_new_file_matching_a_pattern_the_notebook_read_makes_it_stale(tmp_path, monkeypatch):
    import make_notebooks
    from nbformat.v4 import new_notebook

    (tmp_path / "results").mkdir()
    (tmp_path / "results" / "sngan_15min_1core_seed0.json").write_text("{}")
    monkeypatch.setattr(make_notebooks, "ROOT", tmp_path)
    notebook = new_notebook()
    notebook.metadata["gans_keras_fingerprint"] = make_notebooks.fingerprint(
        notebook, [], [str(tmp_path / "results" / "*_1core*.json")])
    (tmp_path / "results" / "wgan_15min.json").write_text("{}")  # not matched
    assert stale_parts(notebook) == []
    (tmp_path / "results" / "wgan_15min_1core_seed0.json").write_text("{}")
    assert stale_parts(notebook) == ["the files results/*_1core*.json matches"]


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.name)
def test_notebook_runs_in_smoke_mode(path, tmp_path, monkeypatch):
    monkeypatch.setenv("GANS_KERAS_SMOKE", "1")
    monkeypatch.setenv("GANS_KERAS_RUNS", str(tmp_path / "runs"))
    monkeypatch.setenv("GANS_KERAS_CACHE", str(tmp_path / "cache"))
    notebook = nbformat.read(path, as_version=4)
    execute(notebook, path, timeout=600)  # raises on the first failing cell
    assert all(output.output_type != "error" for cell in notebook.cells for output in cell.get("outputs", []))


def test_tensorflow_start_up_lines_are_kept_out_of_outputs():
    from make_notebooks import strip_log_noise
    from nbformat.v4 import new_code_cell, new_notebook, new_output

    cell = new_code_cell("x", outputs=[
        new_output("stream", name="stderr", text="I0000 00:00:1 port.cc:153] oneDNN custom operations are on.\n"
                                                 "E0000 00:00:2 cuda_platform.cc:52] failed call to cuInit\n"),
        new_output("stream", name="stderr", text="W0000 x\nUserWarning: a real warning\n"),
        new_output("stream", name="stdout", text="I0000 printed by the notebook itself\n"),
    ])
    notebook = new_notebook(cells=[cell])
    strip_log_noise(notebook)
    assert [(o.name, o.text) for o in notebook.cells[0].outputs] == [
        ("stderr", "UserWarning: a real warning\n"), ("stdout", "I0000 printed by the notebook itself\n")]
