"""gans_keras.report: the results reader behind the leaderboard."""

import json

import pytest

from gans_keras.report import (
    at_budget,
    best_by_budget,
    leaderboard_table,
    question_rows,
    questions_table,
    ranking,
    read_scores,
    sampler_frontiers,
)


def _scores(fid, images=10_000):
    return {"num_samples": images, "fid": fid, "is_mean": 8.0, "kid_mean": 0.5, "precision": 0.7, "recall": 0.6}


def _run(results, name, model, fid, seed=0, minutes=15.1, max_minutes=15, images=10_000, samplers=None, cpu=None,
         cores=None):
    """`cores`: {"cpus": N} and, for a pinned run, "cpus_used", as gan_budget records them."""
    record = {"benchmark": "gan_budget", "name": name, "model": model, "train_minutes_this_session": minutes,
              "config": {"seed": seed, "max_minutes": max_minutes}, "classifier:fashion_mnist": _scores(fid, images),
              "machine": {"cpu_model": cpu, "cpu_flags": ["avx2"], **(cores or {})} if cpu else {}}
    if samplers:
        record["samplers"] = {key: {"images": images, "classifier:fashion_mnist": _scores(value, images)}
                              for key, value in samplers.items()}
    (results / f"{name}.json").write_text(json.dumps(record))


def test_seeds_of_a_setting_are_averaged_and_each_model_keeps_its_best(tmp_path):
    _run(tmp_path, "wgan_15min", "wgan", 30.0)
    _run(tmp_path, "wgan_15min_seed1", "wgan", 20.0, seed=1)
    _run(tmp_path, "wgan_15min_gp1", "wgan", 27.0)
    _run(tmp_path, "diffusion_15min", "diffusion", 99.0, samplers={"ddim-50": 14.0, "ddpm-1000": 12.0}, cpu="Xeon")
    rows = ranking(at_budget(read_scores(tmp_path), 15))
    assert [(row["model"], row["setting"], row["sampler"]) for row in rows] == [
        ("diffusion", "diffusion_15min", "ddpm-1000"), ("wgan", "wgan_15min", None)]
    assert rows[1]["seeds"] == [0, 1] and rows[1]["fid"] == (25.0, 5.0)
    table = leaderboard_table(tmp_path, budgets=(15,))
    assert "| 15 min | wgan | wgan_15min | 0, 1 | 25.00 ± 5.00 |" in table
    assert "| 15 min | diffusion | diffusion_15min (ddpm-1000) | 0 | 12.00 |" in table and "Xeon (avx2)" in table


def test_only_time_limited_runs_of_the_budget_count(tmp_path):
    _run(tmp_path, "dcgan_1000steps", "dcgan", 5.0, max_minutes=None)  # took 15 minutes, but by steps
    _run(tmp_path, "dcgan_60min", "dcgan", 6.0, minutes=60.4, max_minutes=35)
    _run(tmp_path, "dcgan_15min", "dcgan", 7.0)
    scores = read_scores(tmp_path)
    assert [score.name for score in at_budget(scores, 15)] == ["dcgan_15min"]
    assert [score.name for score in at_budget(scores, 60)] == ["dcgan_60min"]


def test_a_ranking_refuses_different_image_counts(tmp_path):
    _run(tmp_path, "cgan_15min", "cgan", 4.0)
    _run(tmp_path, "sngan_15min", "sngan", 9.0, images=1000)
    with pytest.raises(ValueError, match=r"scores of \[1000, 10000\] images cannot share one ranking"):
        ranking(read_scores(tmp_path))
    assert [row["model"] for row in ranking(at_budget(read_scores(tmp_path), 15))] == ["cgan"]


def test_a_resampled_run_takes_its_runs_model_and_minutes(tmp_path):
    _run(tmp_path, "text_diffusion_15min", "text_diffusion", 20.0, samplers={"dpm-20": 20.0}, images=1000)
    (tmp_path / "t2i_guidance2.json").write_text(json.dumps({
        "benchmark": "diffusion_samplers", "run": "runs/bench-text_diffusion_15min-20261204-174306",
        "samplers": {"dpm-20-guidance2-10000img": {"images": 10_000, "classifier:fashion_mnist": _scores(13.0)}}}))
    (row,) = ranking(at_budget(read_scores(tmp_path), 15))
    assert (row["model"], row["sampler"], row["files"], row["fid"][0]) == (
        "text_diffusion", "dpm-20-guidance2", ["t2i_guidance2"], 13.0)


def _fixed_steps_run(results, name, fid, **config):
    record = {"benchmark": "gan_budget", "name": name, "model": "dcgan", "steps": 4000,
              "train_minutes_this_session": 5.0, "classifier:fashion_mnist": _scores(fid),
              "config": {"seed": 0, "max_minutes": None, "lr_g": 2e-4, "sample_every": 1000, **config}}
    (results / f"{name}.json").write_text(json.dumps(record))


def test_a_question_lists_its_baseline_then_each_run_with_what_it_changed(tmp_path):
    _fixed_steps_run(tmp_path, "optim_adam_lr2e-4", 40.0)
    _fixed_steps_run(tmp_path, "lr_1e-4", 30.0, lr_g=1e-4, sample_every=500)
    _fixed_steps_run(tmp_path, "gact_leaky_relu", 45.5, g_activation="leaky_relu")
    rows = {row["run"]: row for row in question_rows(tmp_path) if row["question"].startswith("learning rate")}
    assert list(rows) == ["optim_adam_lr2e-4", "lr_1e-4"]
    assert rows["lr_1e-4"]["changed"] == "lr_g=0.0001" and rows["lr_1e-4"]["fid_change"] == -10.0
    # The baseline ran before g_activation existed: its absent key counts as the default, relu.
    assert "| gact_leaky_relu | g_activation=leaky_relu | 4,000 | 10,000 | 45.50 |" in questions_table(tmp_path)
    assert "+5.50 |" in questions_table(tmp_path)
    assert not any(row["question"].startswith("EMA") for row in question_rows(tmp_path))  # no runs: no rows


def test_curves_take_each_models_best_setting_at_each_budget(tmp_path):
    _run(tmp_path, "wgan_15min", "wgan", 30.0)
    _run(tmp_path, "wgan_15min_gp1", "wgan", 27.0)
    _run(tmp_path, "wgan_60min", "wgan", 12.0, minutes=60.2, max_minutes=45)
    _run(tmp_path, "cgan_60min", "cgan", 5.0, minutes=59.0, max_minutes=45)
    curves = best_by_budget(read_scores(tmp_path))
    assert {model: [(minutes, row["setting"], row["fid"][0]) for minutes, row in points]
            for model, points in curves.items()} == {
        "cgan": [(60, "cgan_60min", 5.0)], "wgan": [(15, "wgan_15min_gp1", 27.0), (60, "wgan_60min", 12.0)]}


def test_a_sampler_frontier_keeps_one_files_timed_samplers_fastest_first(tmp_path):
    _run(tmp_path, "diffusion_15min", "diffusion", 0.0, samplers={"ddim-50": 14.0, "ddim-10": 30.0, "ddpm-1000": 12.0},
         images=1000)
    record = json.loads((tmp_path / "diffusion_15min.json").read_text())
    for key, seconds in (("ddim-50", 150.0), ("ddim-10", 30.0), ("ddpm-1000", 3000.0)):
        record["samplers"][key]["seconds_per_1000_images"] = seconds
    record["samplers"]["ddpm-1000"]["sampled_by"] = {"machine": {"device": "GPU"}}  # another machine's time
    (tmp_path / "diffusion_15min.json").write_text(json.dumps(record))
    assert sampler_frontiers(read_scores(tmp_path)) == {}  # fewer than 4 samplers timed here
    ((key, frontier),) = sampler_frontiers(read_scores(tmp_path), least=2).items()
    assert key == ("diffusion_15min", 1000)
    assert [(score.sampler, score.seconds_per_1000) for score in frontier] == [("ddim-10", 30.0), ("ddim-50", 150.0)]


def test_every_results_file_read_is_recorded_for_the_notebooks_fingerprints(tmp_path):
    from gans_keras import report

    _run(tmp_path, "dcgan_15min", "dcgan", 7.0)
    _run(tmp_path, "wgan_15min", "wgan", 9.0)
    report.read_result("dcgan_15min", tmp_path)
    assert (tmp_path / "dcgan_15min.json").resolve() in report.FILES_READ
    assert (tmp_path / "wgan_15min.json").resolve() not in report.FILES_READ
    assert tmp_path.resolve() / "*.json" not in report.PATTERNS_READ
    report.read_scores(tmp_path)
    assert (tmp_path / "wgan_15min.json").resolve() in report.FILES_READ
    assert tmp_path.resolve() / "*.json" in report.PATTERNS_READ  # a new results file may change the scores


def test_a_runs_grid_is_found_in_the_repository_beside_its_results(tmp_path):
    from gans_keras.report import grid_path

    results = tmp_path / "benchmarks" / "results"
    results.mkdir(parents=True)
    _run(results, "dcgan_15min", "dcgan", 7.0)
    _run(results, "wgan_15min", "wgan", 9.0)
    record = json.loads((results / "dcgan_15min.json").read_text())
    record["samples"] = {"npz": "runs/x/samples.npz", "grid_in_repo": "markdown_img/dcgan_15min.png"}
    (results / "dcgan_15min.json").write_text(json.dumps(record))
    assert grid_path("dcgan_15min", results) == tmp_path / "markdown_img" / "dcgan_15min.png"
    assert grid_path("wgan_15min", results) is None


def test_one_core_runs_are_paired_with_the_rival_trained_beside_them(tmp_path):
    from gans_keras.report import one_core_pairs

    _run(tmp_path, "sngan_15min_1core_seed0", "sngan", 20.0)
    _run(tmp_path, "wgan_15min_1core_seed0", "wgan", 40.0)
    _run(tmp_path, "sngan_15min_1core_ndis1_seed0", "sngan", 15.0)  # tuning: no WGAN-GP beside it
    _run(tmp_path, "sngan_15min_seed0", "sngan", 25.0)  # both cores: not a pair
    ((name, record, partner, rival),) = one_core_pairs("sngan", tmp_path)
    assert (name, partner) == ("sngan_15min_1core_seed0", "wgan_15min_1core_seed0")
    assert (record["classifier:fashion_mnist"]["fid"], rival["classifier:fashion_mnist"]["fid"]) == (20.0, 40.0)


def test_the_leaderboard_says_how_many_cores_a_run_had(tmp_path):
    _run(tmp_path, "sngan_15min_1core_seed0", "sngan", 20.0, cpu="Xeon", cores={"cpus": 2, "cpus_used": 1})
    _run(tmp_path, "wgan_15min", "wgan", 30.0, cpu="Xeon", cores={"cpus": 2})  # unpinned runs used them all
    table = leaderboard_table(tmp_path, budgets=(15,))
    assert "| sngan_15min_1core | 0 | 20.00 |" in table and "| Xeon (avx2), 1 of 2 cores |" in table
    assert "| Xeon (avx2), 2 of 2 cores |" in table
