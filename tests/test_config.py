import json

import pytest

from gans_keras.config import CHOICES, make_config, read_overrides


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
    with pytest.raises(ValueError, match="optimizer must be one of adam, adamw, got 'sgd'"):
        make_config({"optimizer": "sgd"})
    with pytest.raises(ValueError, match="r1 must be >= 0"):
        make_config({"r1": -1.0})
    with pytest.raises(ValueError, match="timestep_spacing must be one of linear, quadratic, logsnr, got 'log'"):
        make_config({"timestep_spacing": "log"})
    with pytest.raises(ValueError, match=r"guidance_sigma_max must be > guidance_sigma_min \(1.0\), got 1.0"):
        make_config({"guidance_sigma_min": 1.0, "guidance_sigma_max": 1.0})


@pytest.mark.parametrize("name", sorted(CHOICES))
def test_settings_with_fixed_values_reject_others(name):
    assert getattr(make_config({}), name) in CHOICES[name]
    with pytest.raises(ValueError, match=f"{name} must be one of {', '.join(CHOICES[name])}, got 'bogus'"):
        make_config({name: "bogus"})


def test_config_file_errors(tmp_path):
    with pytest.raises(FileNotFoundError, match="does not exist"):
        read_overrides(tmp_path / "missing.json")
    (tmp_path / "bad.json").write_text("{steps: 3")
    with pytest.raises(ValueError, match="not valid JSON"):
        read_overrides(tmp_path / "bad.json")


def test_settings_of_other_models_are_refused_with_the_models_they_apply_to():
    from gans_keras.config import APPLIES_TO, FIELDS, check_applicable
    from gans_keras.presets import PRESETS

    assert set(APPLIES_TO) <= set(FIELDS) and all(set(models) <= set(PRESETS) for models in APPLIES_TO.values())
    with pytest.raises(ValueError, match=r"^gp \(--gp\) does not apply to diffusion: it applies to dcgan, cgan, sngan, "
                                         r"wgan$"):
        check_applicable({"gp": 10.0}, "diffusion")
    with pytest.raises(ValueError, match="sampler .* does not apply to wgan: it applies to diffusion"):
        check_applicable({"steps": 5, "sampler": "ddpm"}, "wgan")
    with pytest.raises(ValueError, match="num_classes .* does not apply to dcgan: it applies to cgan, diffusion"):
        check_applicable({"num_classes": 10}, "dcgan")
    for model in PRESETS:  # the settings every model takes
        check_applicable({"steps": 5, "batch_size": 8, "precision": "mixed_bfloat16", "optimizer": "adamw"}, model)
    check_applicable({"num_classes": 10, "aux_classifier": True}, "cgan")
