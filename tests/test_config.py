import pytest

from vae_utils.config import select_profile

SETTINGS = {"full": {"epochs": 10, "train_size": None}, "smoke": {"epochs": 1, "train_size": 256}}


def test_profiles_and_overrides():
    assert select_profile("smoke", SETTINGS) == {"epochs": 1, "train_size": 256}
    assert select_profile("full", SETTINGS, epochs=3, train_size=None) == {"epochs": 3, "train_size": None}


@pytest.mark.parametrize("kwargs, message", [
    ({"profile": "fast"}, "choose one of full, smoke"),
    ({"profile": "full", "epochs": 0}, "epochs must be a positive integer"),
    ({"profile": "full", "epochs": -2}, "epochs must be a positive integer"),
    ({"profile": "full", "learning_rate": 1.0}, "this notebook's settings are epochs, train_size"),
    ({"profile": "full", "train_size": 0}, "train_size must be a positive integer"),
    ({"profile": "full", "train_size": 2.5}, "train_size must be a positive integer"),
])
def test_bad_settings_are_named(kwargs, message):
    profile = kwargs.pop("profile")
    with pytest.raises(ValueError, match=message):
        select_profile(profile, SETTINGS, **kwargs)


def test_output_dirs_send_artifacts_to_the_variable_but_keep_the_cache(monkeypatch):
    from vae_utils.config import output_dirs
    monkeypatch.delenv("VAE_ARTIFACTS_DIR", raising=False)
    assert output_dirs("..", None) == ("..", "../checkpoints")
    monkeypatch.setenv("VAE_ARTIFACTS_DIR", "/tmp/a")
    assert output_dirs("..", None) == ("/tmp/a", "../checkpoints")
    assert output_dirs("/out", None) == ("/out", "/out/checkpoints")  # an explicit choice wins
    assert output_dirs("..", "/ckpt") == ("/tmp/a", "/ckpt")
