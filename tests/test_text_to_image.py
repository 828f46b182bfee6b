"""Text-to-image diffusion end to end: captions -> tokenizer -> text UNet -> training -> prompts."""

import json

import numpy as np
import pytest

from gans_keras.captions import adherence, attributes, evaluation_prompts, fit_thresholds, grid_prompts
from gans_keras.config import make_config
from gans_keras.data import load_arrays
from gans_keras.models.registry import get_model
from gans_keras.sample import main as sample_main
from gans_keras.samplers import SAMPLERS
from gans_keras.sampling import load_generator, sample, write_samples
from gans_keras.train import main as train_main

# The network and schedule small; --text-encoder learned's own sizes added in TEXT_TINY.
TEXT_BASE = ["--model", "text_diffusion", "--unet-width", "8", "--unet-mults", "1,2", "--timesteps", "50",
             "--attention-resolution", "14", "--sampling-steps", "3", "--batch-size", "8", "--sample-every", "2",
             "--checkpoint-every", "2", "--log-every", "1"]
TEXT_TINY = TEXT_BASE + ["--text-dim", "8", "--text-depth", "1", "--caption-length", "12"]


@pytest.fixture(scope="module")
def text_run(tmp_path_factory):
    run = tmp_path_factory.mktemp("runs") / "text"
    assert train_main(TEXT_TINY + ["--steps", "2", "--out", str(run)]) == 0
    return run


def test_text_run_has_its_tokenizer_and_titled_grids(text_run):
    vocabulary = json.loads((text_run / "tokenizer.json").read_text())["vocabulary"]
    assert vocabulary[:2] == ["", "[UNK]"] and {"ankle", "boot", "dark", "wide"} <= set(vocabulary)
    # Held-out template words are not in the training captions.
    assert "quite" not in vocabulary and "picture" not in vocabulary
    config = json.loads((text_run / "config.json").read_text())
    assert config["dataset"] == "fashion_mnist_captions" and config["text_conditioning"] == "cross"
    from PIL import Image

    grid = Image.open(text_run / "samples" / "step_00000002.png")
    # 10 rows of 10 28-pixel images at scale 2, each row under a 14-pixel title band.
    assert grid.size == (10 * 60 + 4, 10 * 60 + 4 + 10 * 14)


@pytest.mark.parametrize("dropout, changes", [(1.0, False), (0.0, True)])
def test_caption_dropout_trains_on_the_empty_caption(dropout, changes):
    """With every caption dropped the text encoder sees only padding, which it masks out: its
    token embedding gets no gradient. With none dropped, the captions' tokens train (from the
    third step: the UNet's output convolution and cross-attention projections start at zero)."""
    config = make_config({"model": "text_diffusion", "unet_width": 8, "unet_mults": "1,2", "timesteps": 50,
                          "attention_resolution": 14, "text_dim": 8, "text_depth": 1, "caption_length": 6,
                          "label_dropout": dropout, "ema_decay": 0.0})
    model = get_model(config, 28, 1)
    embedding = model.network.get_layer("text_encoder").token_embedding.embeddings
    before = np.array(embedding.numpy())
    images = np.random.default_rng(0).uniform(-1, 1, (4, 28, 28, 1)).astype("float32")
    ids = np.array([[5, 6, 7, 0, 0, 0]] * 4, "int32")
    for _ in range(3):
        model.train_step((images, ids))
    assert np.any(embedding.numpy() != before) == changes


def test_every_sampler_samples_from_prompts_with_guidance(text_run):
    generator = load_generator(text_run)
    prompts = ["a dark ankle boot", "a light, wide bag", "an unheard-of word"]
    for name in SAMPLERS:
        generator.configure(sampler=name, steps=3, guidance=1.0)
        images = sample(generator, 3, seed=1, prompts=prompts, verbose=False)
        assert images.shape == (3, 28, 28, 1) and images.dtype == np.uint8
    generator.configure(sampler="ddim", guidance=0.0)
    again = sample(generator, 3, seed=1, prompts=prompts, verbose=False)
    np.testing.assert_array_equal(again, sample(generator, 3, seed=1, prompts=prompts, verbose=False))
    # The prompt reaches the network: other captions, other images from the same noise.
    assert not np.array_equal(again, sample(generator, 3, seed=1, prompts=["a sandal"] * 3, verbose=False))


def test_sample_api_refuses_what_a_text_model_does_not_take(text_run, trained_run):
    generator = load_generator(text_run)
    with pytest.raises(ValueError, match="give 2 prompts, one per image, got none"):
        sample(generator, 2, verbose=False)
    with pytest.raises(ValueError, match="takes prompts, not class labels"):
        sample(generator, 2, labels=np.array([1, 2]), prompts=["a", "b"], verbose=False)
    with pytest.raises(ValueError, match="not text-conditioned"):
        sample(load_generator(trained_run), 2, prompts=["a", "b"], verbose=False)


def test_sample_cli_with_prompts_and_a_prompts_file(text_run, tmp_path):
    prompts_file = tmp_path / "prompts.txt"
    prompts_file.write_text("a dark ankle boot\n\na mid-grey narrow dress\n")
    out = tmp_path / "s.npz"
    argv = ["--run", str(text_run), "--num", "6", "--out", str(out), "--prompt", "a light bag", "--prompts",
            str(prompts_file), "--guidance", "2"]
    assert sample_main(argv) == 0
    with np.load(out) as data:  # no pickle needed: the prompts are a unicode array
        assert data["images"].shape == (6, 28, 28, 1)
        assert data["prompts"].tolist() == ["a light bag", "a dark ankle boot", "a mid-grey narrow dress"] * 2
    assert out.with_suffix(".png").exists()


@pytest.mark.parametrize("argv, message", [
    ([], "is a text-to-image run: give --prompt TEXT or --prompts FILE"),
    (["--prompt", "a bag", "--class", "3"], "--class does not apply to a text-to-image run"),
    (["--prompt", " "], "a prompt is empty"),
    (["--prompts", "/nonexistent/prompts.txt"], "prompts file /nonexistent/prompts.txt does not exist"),
])
def test_sample_cli_errors_on_a_text_run(text_run, capsys, argv, message):
    assert sample_main(["--run", str(text_run), "--num", "2"] + argv) == 2
    assert message in capsys.readouterr().err


def test_prompt_on_a_run_without_text(trained_run, capsys):
    assert sample_main(["--run", str(trained_run), "--num", "2", "--prompt", "a bag"]) == 2
    assert "is not a text-to-image run: --prompt does not apply" in capsys.readouterr().err


def test_a_text_run_without_its_tokenizer(text_run, tmp_path):
    import shutil

    copy = tmp_path / "copy"
    shutil.copytree(text_run, copy)
    (copy / "tokenizer.json").unlink()
    with pytest.raises(FileNotFoundError, match="no tokenizer.json in"):
        load_generator(copy)


def test_write_samples_draws_each_prompt_above_its_row(tmp_path):
    from PIL import Image

    images = np.zeros((4, 28, 28, 1), np.uint8)
    _, grid = write_samples(images, tmp_path / "s.npz", prompts=["a bag", "a boot"] * 2)
    assert Image.open(grid).size == (10 * 60 + 4, 2 * 60 + 4 + 2 * 14)


def test_adherence_of_real_images_to_their_own_captions():
    images, labels = load_arrays("fashion_mnist", "test")
    images, labels = images[:1000], labels[:1000]
    measured = attributes(images, labels, fit_thresholds(*load_arrays("fashion_mnist", "train")))
    scores = adherence(images, labels, measured)
    assert scores["attribute_adherence"] == 1.0 and scores["class_adherence"] > 0.85
    wrong = adherence(images, (labels + 1) % 10, 1 - measured.clip(0, 1))
    assert wrong["class_adherence"] < 0.05 and wrong["width_adherence"] < 0.5
    with pytest.raises(ValueError, match="one label and two attribute classes per image"):
        adherence(images, labels[:10], measured)


def test_evaluation_and_grid_prompts_use_the_held_out_templates():
    prompts, labels, attribute_classes = evaluation_prompts(20, seed=3)
    assert np.bincount(labels).tolist() == [2] * 10 and attribute_classes.shape == (20, 2)
    assert prompts[0].startswith("a picture of a ") and prompts[1].endswith(": one pair of trousers")
    assert evaluation_prompts(20, seed=3)[0] == prompts
    rows = grid_prompts()
    assert len(rows) == 10 and rows[9].endswith("ankle boot, quite narrow")


def test_cross_attention_needs_an_attention_level():
    config = make_config({"model": "text_diffusion", "unet_mults": "1,2", "attention_resolution": 8})
    with pytest.raises(ValueError, match="attention_resolution 8 gives none"):
        get_model(config, 28, 1)


def test_text_settings_refused_elsewhere_and_checked():
    with pytest.raises(ValueError, match="does not apply to diffusion"):
        make_config({"model": "diffusion", "text_conditioning": "both"})
    with pytest.raises(ValueError, match="text_dim must be a multiple"):
        make_config({"model": "text_diffusion", "text_dim": 10})
    with pytest.raises(ValueError, match="eval_every .* does not apply to text_diffusion"):
        make_config({"model": "text_diffusion", "eval_every": 100})


def test_cross_attention_maps_look_at_the_real_tokens_only(text_run):
    from gans_keras.viz import cross_attention_maps, plot_word_attention

    generator = load_generator(text_run)
    captions = generator.encode(["a dark ankle boot", "a bag"])
    images = np.random.default_rng(0).uniform(-1, 1, (2, 28, 28, 1)).astype("float32")
    maps = cross_attention_maps(generator.network, images, 10, captions)
    assert maps and all(m.shape == (2, 12, 14, 14) or m.shape == (2, 12, 7, 7) for m in maps.values())
    for word_maps in maps.values():
        real = captions != 0  # (2, 12): where the tokens are
        np.testing.assert_allclose(word_maps.sum(axis=1), 1.0, rtol=1e-4)  # each position's distribution
        assert np.all(word_maps[~real] == 0)
    figure = plot_word_attention(((images + 1) * 127.5).astype(np.uint8), next(iter(maps.values())),
                                 [["a", "dark", "ankle", "boot"], ["a", "bag"]])
    assert len(figure.axes) == 2 * 5


# === A frozen keras-hub encoder: a tiny random DistilBERT saved as a local preset ===

PRESET_WORDS = ["a", "dark", "light", "mid", "-", "grey", "ankle", "boot", "bag", "wide", "narrow", "dress", ","]


@pytest.fixture(scope="module")
def tiny_preset(tmp_path_factory):
    import keras_hub

    vocabulary = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]"] + PRESET_WORDS
    tokenizer = keras_hub.models.DistilBertTokenizer(vocabulary=vocabulary)
    backbone = keras_hub.models.DistilBertBackbone(vocabulary_size=len(vocabulary), num_layers=1, num_heads=2,
                                                   hidden_dim=8, intermediate_dim=16, max_sequence_length=32)
    preset = tmp_path_factory.mktemp("presets") / "tiny_distil_bert"
    backbone.save_to_preset(str(preset))
    tokenizer.save_to_preset(str(preset))
    keras_hub.models.DistilBertTextClassifierPreprocessor(tokenizer, sequence_length=32).save_to_preset(str(preset))
    return preset


def test_pretrained_encoder_packs_features_and_mask_and_encodes_each_caption_once(tiny_preset):
    import tensorflow as tf

    from gans_keras.text_encoders import PretrainedTextEncoder

    encoder = PretrainedTextEncoder(f"keras_hub:{tiny_preset}", sequence_length=8)
    packed = encoder(["a dark boot", ""])
    assert encoder.dim == 8 and packed.shape == (2, 8, 9)
    # [CLS] a dark boot [SEP]: five real tokens; the empty caption is [CLS] [SEP].
    np.testing.assert_array_equal(packed[:, :, -1], [[1] * 5 + [0] * 3, [1] * 2 + [0] * 6])
    assert np.all(packed[0, 5:, :-1] == 0) and np.abs(packed[0, :5, :-1]).sum() > 0
    lookup = encoder.lookup(["a dark boot", "a bag", "a dark boot"])
    assert lookup.distinct == 2
    looked_up = lookup(tf.constant(["a bag", "a dark boot", "a bag"])).numpy()
    np.testing.assert_allclose(looked_up, encoder(["a bag", "a dark boot", "a bag"]), rtol=1e-6)


def test_train_and_sample_with_a_local_keras_hub_preset(tiny_preset, tmp_path):
    run = tmp_path / "hub"
    assert train_main(TEXT_BASE + ["--text-encoder", f"keras_hub:{tiny_preset}", "--caption-length", "10", "--steps",
                              "2", "--out", str(run)]) == 0
    assert not (run / "tokenizer.json").exists()  # the preset is the tokenizer
    generator = load_generator(run)
    assert generator.null_caption.shape == (10, 9) and generator.null_caption[:2, -1].tolist() == [1, 1]
    generator.configure(guidance=1.0)
    images = sample(generator, 2, prompts=["a dark boot", "a wide bag"], verbose=False)
    assert images.shape == (2, 28, 28, 1)


def test_a_missing_keras_hub_preset_says_how_to_provide_it(tmp_path):
    from gans_keras.text_encoders import PretrainedTextEncoder

    with pytest.raises(ValueError, match="cannot load the keras-hub text preset .*pass --text-encoder keras_hub:DIR"):
        PretrainedTextEncoder(f"keras_hub:{tmp_path / 'nothing here'}", sequence_length=8)


def test_pretrained_encoder_settings_are_checked():
    with pytest.raises(ValueError, match="text_dim sizes the learned text encoder"):
        make_config({"model": "text_diffusion", "text_encoder": "keras_hub:distil_bert_base_en", "text_dim": 32})
    with pytest.raises(ValueError, match="text_encoder must be learned or keras_hub:PRESET_OR_DIR"):
        make_config({"model": "text_diffusion", "text_encoder": "bert"})


def test_evaluate_prompts_a_text_run_with_held_out_captions_and_scores_adherence(text_run, capsys):
    from gans_keras.evaluate import main as evaluate_main

    assert evaluate_main(["--run", str(text_run), "--num", "50", "--sampling-steps", "2"]) == 0
    metrics = json.loads((text_run / "metrics.json").read_text())["classifier:fashion_mnist"]
    assert metrics["num_samples"] == 50
    assert set(metrics["adherence"]) == {"class_adherence", "brightness_adherence", "width_adherence",
                                         "attribute_adherence"}
    assert all(0.0 <= value <= 1.0 for value in metrics["adherence"].values())
