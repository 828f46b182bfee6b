"""gans_keras.report: the results reader behind the leaderboard."""

import json

import pytest

from gans_keras.report import at_budget, leaderboard_table, ranking, read_scores


def _scores(fid, images=10_000):
    return {"num_samples": images, "fid": fid, "is_mean": 8.0, "kid_mean": 0.5, "precision": 0.7, "recall": 0.6}


def _run(results, name, model, fid, seed=0, minutes=15.1, max_minutes=15, images=10_000, samplers=None, cpu=None):
    record = {"benchmark": "gan_budget", "name": name, "model": model, "train_minutes_this_session": minutes,
              "config": {"seed": seed, "max_minutes": max_minutes}, "classifier:fashion_mnist": _scores(fid, images),
              "machine": {"cpu_model": cpu, "cpu_flags": ["avx2"]} if cpu else {}}
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
