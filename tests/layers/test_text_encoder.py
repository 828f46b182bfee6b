import keras
import numpy as np
import pytest

from gans_keras.layers.text_encoder import TextEncoder, fit_tokenizer


def _ids(tokenizer, captions):
    return keras.ops.convert_to_numpy(tokenizer(captions))


def test_tokenizer_fits_the_captions_and_pads():
    tokenizer = fit_tokenizer(["a dark ankle boot", "a light, wide bag!"], sequence_length=6)
    vocabulary = tokenizer.get_vocabulary()
    assert vocabulary[:2] == ["", "[UNK]"] and {"dark", "ankle", "boot", "wide", "bag"} <= set(vocabulary)
    ids = _ids(tokenizer, ["a dark bag", "a purple boot"])
    assert ids.shape == (2, 6) and (ids[:, 3:] == 0).all()  # padding id 0
    assert ids[1, 1] == 1  # "purple" is out of vocabulary


def test_padding_changes_no_real_token_and_not_the_pooled_vector():
    encoder = TextEncoder(vocabulary_size=20, sequence_length=16, dim=16, depth=2, heads=2)
    rng = np.random.default_rng(0)
    ids = np.zeros((3, 16), "int32")
    for row, length in enumerate((3, 7, 12)):
        ids[row, :length] = rng.integers(2, 20, length)
    tokens, pooled = (keras.ops.convert_to_numpy(x) for x in encoder(ids))
    short_tokens, short_pooled = (keras.ops.convert_to_numpy(x) for x in encoder(ids[:, :12]))
    np.testing.assert_allclose(short_tokens, tokens[:, :12], rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(short_pooled, pooled, rtol=1e-5, atol=1e-6)
    assert (tokens[0, 3:] == 0).all() and np.abs(tokens[0, :3]).sum() > 0  # padded positions zeroed
    # A padded position's id does not matter either: the mask, not the embedding, removes it.
    changed = ids.copy()
    changed[0, 5] = 0
    np.testing.assert_allclose(keras.ops.convert_to_numpy(encoder(changed)[1])[0], pooled[0], rtol=1e-5, atol=1e-6)


def test_empty_caption_encodes_to_zeros():
    encoder = TextEncoder(vocabulary_size=10, sequence_length=8, dim=8, heads=2)
    tokens, pooled = encoder(np.zeros((1, 8), "int32"))
    assert np.isfinite(keras.ops.convert_to_numpy(tokens)).all()
    np.testing.assert_array_equal(keras.ops.convert_to_numpy(pooled), 0.0)


def test_text_encoder_saves_and_loads(tmp_path):
    ids = keras.Input((8,), dtype="int32")
    tokens, pooled = TextEncoder(vocabulary_size=10, sequence_length=8, dim=8, heads=2)(ids)
    model = keras.Model(ids, [tokens, pooled])
    model.save(tmp_path / "encoder.keras")
    loaded = keras.models.load_model(tmp_path / "encoder.keras")
    sample = np.array([[3, 4, 5, 0, 0, 0, 0, 0]], "int32")
    for a, b in zip(loaded(sample), model(sample), strict=True):
        np.testing.assert_allclose(keras.ops.convert_to_numpy(a), keras.ops.convert_to_numpy(b), rtol=1e-6)


def test_text_encoder_refuses_heads_that_do_not_divide():
    with pytest.raises(ValueError, match="heads must divide dim"):
        TextEncoder(10, 8, dim=10, heads=4)


def test_saved_tokenizer_gives_the_same_ids(tmp_path):
    from gans_keras.layers.text_encoder import load_tokenizer, save_tokenizer

    tokenizer = fit_tokenizer(["a dark ankle boot", "a light, wide bag!", "boot boot bag"], sequence_length=7)
    save_tokenizer(tokenizer, tmp_path / "tokenizer.json")
    loaded = load_tokenizer(tmp_path / "tokenizer.json")
    captions = ["A dark bag", "a purple boot, wide", ""]
    np.testing.assert_array_equal(_ids(loaded, captions), _ids(tokenizer, captions))
    assert loaded.get_vocabulary() == tokenizer.get_vocabulary()


def test_token_mask_is_false_at_padding_only():
    from gans_keras.layers.text_encoder import TokenMask

    mask = keras.ops.convert_to_numpy(TokenMask()(np.array([[4, 1, 0, 0], [0, 0, 0, 0]], "int32")))
    np.testing.assert_array_equal(mask, [[True, True, False, False], [False] * 4])
