import pytest

from gans_keras.evaluate import main as evaluate_main
from gans_keras.metrics.train_classifier import main as train_classifier_main
from gans_keras.sample import main as sample_main
from gans_keras.train import main as train_main


def help_text(main, capsys) -> str:
    with pytest.raises(SystemExit) as exit_info:
        main(["--help"])
    assert exit_info.value.code == 0
    return " ".join(capsys.readouterr().out.split())  # undo argparse's line wrapping


@pytest.mark.parametrize("main", [train_main, sample_main, evaluate_main, train_classifier_main])
def test_help_shows_real_defaults_never_none(main, capsys):
    text = help_text(main, capsys)
    assert "default: None" not in text
    assert "--seed SEED" in text and "default: 0" in text


def test_train_help_says_what_an_unset_setting_means(capsys):
    text = help_text(train_main, capsys)
    assert "[default: no time limit, or the model's preset]" in text
    assert "[default: the dataset's own, or the model's preset]" in text


def test_sample_help_keeps_numeric_defaults(capsys):
    assert "number of images (default: 10000)" in help_text(sample_main, capsys)
