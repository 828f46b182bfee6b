"""The tables of benchmarks/README.md are the results files' numbers (benchmarks/tables.py prints them)."""

from __future__ import annotations

import importlib.util
import json
import re
from pathlib import Path

import pytest

BENCHMARKS = Path(__file__).resolve().parents[1] / "benchmarks"
RESULTS = BENCHMARKS / "results"


def load_tables_module():
    spec = importlib.util.spec_from_file_location("benchmark_tables", BENCHMARKS / "tables.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def table_names() -> list[str]:
    """Every table the results files support: runs by budget, the fixed-step groups, each diffusion budget."""
    budgets = sorted({match.group(1) for path in RESULTS.glob("*.json")
                      if (match := re.fullmatch(r"[a-z]+_(\d+min)", path.stem))})
    benchmark = {path.stem: json.loads(path.read_text()).get("benchmark") for path in RESULTS.glob("*.json")}
    diffusion_runs = sorted(name for name, kind in benchmark.items()
                            if kind == "gan_budget" and name.startswith("diffusion_"))
    compared = [name.replace("diffusion_", "compare_") for name in diffusion_runs
                if re.fullmatch(r"diffusion_\d+min", name)]
    throughputs = sorted(name for name, kind in benchmark.items() if kind == "throughput")
    tables = load_tables_module()
    prefixes = {**tables.RUN_GROUPS, **tables.PROMPTED_GROUPS, **tables.LIKELIHOOD_GROUPS}
    # A sampler sweep in a group is a row of its group's table.
    sampler_sweeps = sorted(name for name, kind in benchmark.items() if kind == "diffusion_samplers"
                            and not name.startswith(tuple(prefixes.values())))
    groups = [group for group, prefix in prefixes.items() if any(RESULTS.glob(f"{prefix}*.json"))]
    faults = ["faults"] if (RESULTS / "faults.json").exists() else []
    one_core = ["one_core"] if any(RESULTS.glob(tables.ONE_CORE)) else []
    return [*budgets, *groups, *diffusion_runs, *compared, *sampler_sweeps, *throughputs, *faults, *one_core,
            "leaderboard", "questions"]


def test_every_budget_has_a_table():
    assert {"15min", "25min", "diffusion_15min", "compare_15min", "diffusion_60min_guidance"} <= set(table_names())


@pytest.mark.parametrize("name", table_names())
def test_readme_table_matches_results(name, capsys):
    assert load_tables_module().main(name) == 0
    table = capsys.readouterr().out.strip()
    assert table.count("\n") >= 2, table  # header, rule and at least one row
    assert table in (BENCHMARKS / "README.md").read_text(), f"benchmarks/README.md lacks or differs from:\n{table}"


def test_the_leaderboard_heads_both_readmes(capsys):
    assert load_tables_module().main("leaderboard") == 0
    table = capsys.readouterr().out.strip()
    assert (BENCHMARKS / "README.md").read_text().split("\n## ")[0].count(table) == 1
    assert table in (BENCHMARKS.parent / "README.md").read_text()


def test_unknown_table_is_refused(capsys):
    assert load_tables_module().main("nonsense") == 2
    assert "choose one of" in capsys.readouterr().err
