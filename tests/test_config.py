import json
from pathlib import Path

import pytest

from gans_keras.config import (
    APPLIES_TO,
    CHOICES,
    FIELDS,
    SECTIONS,
    SETTINGS,
    check_applicable,
    flag_table,
    make_config,
    read_overrides,
)
from gans_keras.presets import PRESETS

ROOT = Path(__file__).resolve().parents[1]


def test_precedence_defaults_preset_overrides():
    config = make_config({"lr_d": 3e-4}, {"lr_d": 5e-4, "steps": 7})
    assert config.lr_d == 5e-4 and config.steps == 7
    assert config.lr_g == 1e-4  # the wgan preset
    assert config.batch_size == 64  # the dataclass default


def test_unknown_keys_raise(tmp_path):
    path = tmp_path / "c.json"
    path.write_text(json.dumps({"steps": 3, "learning_rate": 1}))
    with pytest.raises(ValueError, match=r"unknown config key\(s\) \['learning_rate'\]"):
        read_overrides(path)


def test_bad_values_named():
    with pytest.raises(ValueError, match="n_critic must be >= 1, got 0"):
        make_config({"n_critic": 0})
    with pytest.raises(ValueError, match="max_minutes must be > 0"):
        make_config({"max_minutes": -1})
    with pytest.raises(ValueError, match="optimizer must be one of adam, adamw, rmsprop, sgd, got 'lion'"):
        make_config({"optimizer": "lion"})
    with pytest.raises(ValueError, match="weight_decay is AdamW's: it needs optimizer adamw, not sgd"):
        make_config({"optimizer": "sgd", "weight_decay": 0.01})
    with pytest.raises(ValueError, match="r1 must be >= 0"):
        make_config({"r1": -1.0})
    with pytest.raises(ValueError, match="timestep_spacing must be one of linear, quadratic, logsnr, got 'log'"):
        make_config({"timestep_spacing": "log"})
    with pytest.raises(ValueError, match=r"guidance_sigma_max must be > guidance_sigma_min \(1.0\), got 1.0"):
        make_config({"guidance_sigma_min": 1.0, "guidance_sigma_max": 1.0})


@pytest.mark.parametrize("name", sorted(CHOICES))
def test_settings_with_fixed_values_reject_others(name):
    assert getattr(make_config({}), name) in CHOICES[name]
    with pytest.raises(ValueError, match=f"{name} must be one of {', '.join(map(str, CHOICES[name]))}, got 'bogus'"):
        make_config({name: "bogus"})


def test_config_file_errors(tmp_path):
    with pytest.raises(FileNotFoundError, match="does not exist"):
        read_overrides(tmp_path / "missing.json")
    (tmp_path / "bad.json").write_text("{steps: 3")
    with pytest.raises(ValueError, match="not valid JSON"):
        read_overrides(tmp_path / "bad.json")


def test_settings_of_other_models_are_refused_with_the_models_they_apply_to():
    assert set(APPLIES_TO) <= set(FIELDS) and all(set(models) <= set(PRESETS) for models in APPLIES_TO.values())
    with pytest.raises(ValueError, match=r"^gp \(--gp\) does not apply to diffusion: it applies to dcgan, cgan, sngan, "
                                         r"wgan, r3gan, r3gan_cond$"):
        check_applicable({"gp": 10.0}, "diffusion")
    with pytest.raises(ValueError, match="sampler .* does not apply to wgan: it applies to diffusion"):
        check_applicable({"steps": 5, "sampler": "ddpm"}, "wgan")
    check_applicable({"num_classes": 10, "aux_classifier": True}, "dcgan")  # the semi-supervised head
    with pytest.raises(ValueError, match="aux_classifier .* does not apply to diffusion"):
        check_applicable({"aux_classifier": True}, "diffusion")
    for model in PRESETS:  # the settings every model takes
        check_applicable({"steps": 5, "batch_size": 8, "precision": "mixed_bfloat16", "optimizer": "adamw"}, model)
    check_applicable({"num_classes": 10, "aux_classifier": True}, "cgan")


def test_every_setting_declares_its_section_help_and_models():
    assert [section.name for section in SECTIONS] == ["data", "networks", "gan objective", "diffusion", "text",
                                                      "sampling", "optimisation", "starting point", "devices",
                                                      "outputs", "evaluation"]
    for setting in SETTINGS:
        assert setting.metadata["help"].strip(), setting.name
        assert setting.metadata["applies_to"] and set(setting.metadata["applies_to"]) <= set(PRESETS), setting.name
        assert setting.default is not None or setting.metadata["none_means"], f"{setting.name}: what None means"


def test_the_python_api_refuses_a_changed_setting_the_model_ignores():
    with pytest.raises(ValueError, match=r"^gp \(--gp\) does not apply to diffusion: it applies to dcgan, cgan, "
                                         r"sngan, wgan, r3gan, r3gan_cond$"):
        make_config({"model": "diffusion", "gp": 10.0})
    with pytest.raises(ValueError, match="^guidance .* does not apply to dcgan"):
        make_config({"model": "dcgan"}, {"guidance": 1.0})
    with pytest.raises(ValueError, match="^n_critic .* does not apply to diffusion"):
        make_config({"model": "diffusion", "n_critic": 5})
    # An ignored setting at its default is what every saved config.json holds: accepted.
    assert make_config({"model": "diffusion", "gp": 0.0, "n_critic": 1}).gp == 0.0


def test_readme_flag_table_is_the_declared_one():
    readme = (ROOT / "README.md").read_text()
    assert flag_table() in readme, "README's flag table is stale: paste `python -m gans_keras.config` into it"


def test_cpu_replicas_needs_the_mirrored_strategy():
    with pytest.raises(ValueError, match="cpu_replicas splits the CPU for strategy mirrored: .* got 2 with strategy"):
        make_config({"cpu_replicas": 2})
    assert make_config({"strategy": "mirrored", "cpu_replicas": 2}).cpu_replicas == 2
    with pytest.raises(ValueError, match="strategy"):
        make_config({"strategy": "tpu"})


BENCHMARK_CONFIGS = sorted((ROOT / "benchmarks" / "configs").glob("*.json"))


@pytest.mark.parametrize("path", BENCHMARK_CONFIGS, ids=lambda path: path.stem)
def test_every_shipped_config_file_is_a_valid_configuration(path):
    overrides = read_overrides(path)
    config = make_config(overrides)
    check_applicable(overrides, config.model)
    assert all(getattr(config, key) == value for key, value in overrides.items())


@pytest.mark.parametrize(("config", "result"), [
    ("r3gan_fashion_mnist_cpu", "r3gan_60min_1core_doubled_latent16_lr5e-4_ema_seed1"),
    ("r3gan_cond_dcgan_fashion_mnist_cpu", "r3gan_cond_60min_1core_recipe_mbstd_dcgan32_seed0"),
])
def test_a_shipped_recipe_is_the_configuration_its_published_hour_trained_with(config, result):
    recipe = make_config(read_overrides(ROOT / "benchmarks" / "configs" / f"{config}.json"))
    record = json.loads((ROOT / "benchmarks" / "results" / f"{result}.json").read_text())
    trained = make_config({key: value for key, value in record["config"].items() if key != "seed"})
    assert recipe == trained
