import types
import pytest
import torch

import vae_utils.train as train_module
from vae_utils.data import ImageTensors
from vae_utils.models import ModelSpec
from vae_utils.train import TrainConfig, fit, pick_device, prefers_channels_last

SPEC = ModelSpec("conv", (1, 8, 8), 2, variational=True)


def toy_images(count: int = 256, seed: int = 0) -> ImageTensors:
    """Bright squares at random places on 8x8 images: easy to learn, fast to train."""
    g = torch.Generator().manual_seed(seed)
    images = torch.zeros(count, 1, 8, 8, dtype=torch.uint8)
    corners = torch.randint(0, 5, (count, 2), generator=g)
    for image, (row, col) in zip(images, corners.tolist()):
        image[0, row:row + 4, col:col + 4] = 255
    return ImageTensors(images, torch.zeros(count, dtype=torch.long), {"dataset": "toy", "seed": seed, "size": count})


def weights(model):
    return torch.cat([p.detach().flatten() for p in model.state_dict().values() if torch.is_floating_point(p)])


def test_fit_learns_and_records_history(tmp_path):
    data = toy_images()
    run = fit(SPEC, TrainConfig(epochs=4, batch_size=32), data, toy_images(64, seed=1), name="toy",
              checkpoint_dir=tmp_path, progress=False)
    history = run.history
    assert len(history["train_loss"]) == len(history["val_loss"]) == 4
    assert history["train_loss"][-1] < history["train_loss"][0]
    assert not run.from_cache and run.path.is_file() and run.train_seconds > 0
    assert not (tmp_path / run.path.name.replace(".pt", ".partial.pt")).exists()


def test_cache_hit_retrain_and_config_change(tmp_path):
    data, config = toy_images(), TrainConfig(epochs=1, batch_size=64)
    first = fit(SPEC, config, data, name="toy", checkpoint_dir=tmp_path, progress=False)
    again = fit(SPEC, config, data, name="toy", checkpoint_dir=tmp_path, progress=False)
    assert again.from_cache and torch.equal(weights(first.model), weights(again.model))
    assert again.history == first.history and again.train_seconds == first.train_seconds
    assert not fit(SPEC, config, data, name="toy", checkpoint_dir=tmp_path, retrain=True, progress=False).from_cache
    other = fit(SPEC, TrainConfig(epochs=1, batch_size=64, seed=1), data, name="toy", checkpoint_dir=tmp_path, progress=False)
    assert not other.from_cache and other.path != first.path
    # the data are part of the key too
    assert fit(SPEC, config, toy_images(seed=3), name="toy", checkpoint_dir=tmp_path, progress=False).path != first.path


def test_interrupted_training_resumes_to_the_same_weights(tmp_path, monkeypatch, capsys):
    data, config = toy_images(), TrainConfig(epochs=3, batch_size=64)
    straight = fit(SPEC, config, data, name="a", checkpoint_dir=tmp_path / "a", progress=False)

    real_save, saves = train_module.save_checkpoint, []

    def save_then_interrupt(path, config_dict, state):
        real_save(path, config_dict, state)
        saves.append(path)
        if len(saves) == 2:  # after the second epoch's progress file
            raise KeyboardInterrupt

    monkeypatch.setattr(train_module, "save_checkpoint", save_then_interrupt)
    with pytest.raises(KeyboardInterrupt):
        fit(SPEC, config, data, name="b", checkpoint_dir=tmp_path / "b", progress=False)
    monkeypatch.setattr(train_module, "save_checkpoint", real_save)
    partial, = (tmp_path / "b").glob("*.partial.pt")
    assert train_module.saved_epochs(partial) == (2, 3)
    message = capsys.readouterr().out
    assert f"2 of 3 epochs saved in {partial}" in message
    resumed = fit(SPEC, config, data, name="b", checkpoint_dir=tmp_path / "b", progress=False)
    assert len(resumed.history["train_loss"]) == 3
    assert torch.equal(weights(resumed.model), weights(straight.model))
    assert not list((tmp_path / "b").glob("*.partial.pt"))


def test_interrupt_before_the_first_epoch_names_no_file(tmp_path, monkeypatch, capsys):
    def interrupt(*args, **kwargs):
        raise KeyboardInterrupt

    monkeypatch.setattr(train_module, "training_loss", interrupt)
    with pytest.raises(KeyboardInterrupt):
        fit(SPEC, TrainConfig(epochs=2), toy_images(), name="c", checkpoint_dir=tmp_path, progress=False)
    assert "nothing was saved" in capsys.readouterr().out and not list(tmp_path.iterdir())


@pytest.mark.parametrize("damage", ["truncate", "garbage"])
def test_unreadable_checkpoint_is_set_aside_and_retrained(tmp_path, damage):
    data, config = toy_images(), TrainConfig(epochs=1, batch_size=64)
    first = fit(SPEC, config, data, name="toy", checkpoint_dir=tmp_path, progress=False)
    content = first.path.read_bytes()
    first.path.write_bytes(content[:len(content) // 2] if damage == "truncate" else b"not a checkpoint")
    with pytest.warns(UserWarning, match=f"{first.path.name} is unreadable.*moved it to {first.path.name}.corrupt"):
        again = fit(SPEC, config, data, name="toy", checkpoint_dir=tmp_path, progress=False)
    assert not again.from_cache and again.path == first.path
    assert (tmp_path / f"{first.path.name}.corrupt").is_file()
    assert torch.equal(weights(again.model), weights(first.model))  # retrained to the same weights
    assert fit(SPEC, config, data, name="toy", checkpoint_dir=tmp_path, progress=False).from_cache


def test_unreadable_partial_file_restarts_training(tmp_path):
    data, config = toy_images(), TrainConfig(epochs=1, batch_size=64)
    path = fit(SPEC, config, data, name="toy", checkpoint_dir=tmp_path, progress=False).path
    path.unlink()
    path.with_suffix(".partial.pt").write_bytes(b"\x80half")
    with pytest.warns(UserWarning, match="partial.pt is unreadable"):
        assert not fit(SPEC, config, data, name="toy", checkpoint_dir=tmp_path, progress=False).from_cache


def test_load_trained_names_an_unreadable_file(tmp_path):
    bad = tmp_path / "bad.pt"
    bad.write_bytes(b"nope")
    with pytest.raises(RuntimeError, match="bad.pt"):
        train_module.load_trained(bad)


def test_non_finite_loss_stops_with_epoch_and_step(tmp_path):
    # sigma = exp(-1000) underflows to 0: the Gaussian log-likelihood is infinite on the first step
    config = TrainConfig(epochs=2, likelihood="gaussian", gaussian_log_scale=-1000.0)
    with pytest.raises(FloatingPointError, match=r"at epoch 1, step 1"):
        fit(SPEC, config, toy_images(), name="nan", checkpoint_dir=tmp_path, progress=False)


def test_learned_gaussian_scale_is_trained_and_saved(tmp_path):
    config = TrainConfig(epochs=2, likelihood="gaussian", gaussian_log_scale=None)
    run = fit(SPEC, config, toy_images(), name="scale", checkpoint_dir=tmp_path, progress=False)
    assert run.model.log_scale.item() < 0  # squares are easy: the learned noise level drops below sigma = 1
    cached = fit(SPEC, config, toy_images(), name="scale", checkpoint_dir=tmp_path, progress=False)
    assert cached.from_cache and cached.model.log_scale.item() == run.model.log_scale.item()


@pytest.mark.parametrize("kwargs, message", [
    ({"epochs": 0}, "epochs must be a positive integer"),
    ({"epochs": 2.5}, "epochs must be a positive integer"),
    ({"likelihood": "poisson"}, "bernoulli, gaussian"),
    ({"learning_rate": 0}, "learning_rate must be positive"),
])
def test_bad_config_is_a_clear_error(kwargs, message):
    with pytest.raises(ValueError, match=message):
        TrainConfig(**kwargs)


def test_device_and_layout_choice():
    assert pick_device("cpu") == torch.device("cpu")
    assert pick_device().type in ("cpu", "cuda", "mps")
    from vae_utils.models import build_model
    assert prefers_channels_last(build_model(SPEC), torch.device("cpu"))
    assert not prefers_channels_last(build_model(ModelSpec("mlp", (1, 8, 8), 2)), torch.device("cpu"))


def test_monitor_numbers_join_the_history_and_the_key(tmp_path):
    from vae_utils.train import Monitor
    calls = []
    monitor = Monitor({"what": "count"}, lambda model: calls.append(model.training) or {"monitor_calls": float(len(calls))})
    run = fit(SPEC, TrainConfig(epochs=2, batch_size=64), toy_images(), name="m", checkpoint_dir=tmp_path,
              progress=False, monitor=monitor)
    assert run.history["monitor_calls"] == [1.0, 2.0] and calls == [False, False]
    plain = fit(SPEC, TrainConfig(epochs=2, batch_size=64), toy_images(), name="m", checkpoint_dir=tmp_path, progress=False)
    assert plain.path != run.path


def test_binarized_training_sees_only_zeros_and_ones(tmp_path, monkeypatch):
    seen = []
    real = train_module.training_loss
    monkeypatch.setattr(train_module, "training_loss", lambda out, x, *a, **k: seen.append(x.unique()) or real(out, x, *a, **k))
    grey = ImageTensors(torch.full((64, 1, 8, 8), 100, dtype=torch.uint8), torch.zeros(64, dtype=torch.long), {"d": "grey"})
    fit(SPEC, TrainConfig(epochs=1, batch_size=32, binarize=True), grey, name="b", checkpoint_dir=tmp_path, progress=False)
    assert all(set(values.tolist()) <= {0.0, 1.0} for values in seen)


def test_new_config_fields_at_default_stay_out_of_the_key():
    from vae_utils.train import run_config
    key = run_config(SPEC, TrainConfig(epochs=3), toy_images(8), None)
    assert key["train"] == {"epochs": 3} and "binarize" not in key["train"]
    assert run_config(SPEC, TrainConfig(epochs=3, binarize=True), toy_images(8), None)["train"]["binarize"] is True


def test_load_trained_rebuilds_the_model_from_its_checkpoint(tmp_path):
    from vae_utils.train import load_trained
    run = fit(SPEC, TrainConfig(epochs=1, batch_size=64), toy_images(), name="l", checkpoint_dir=tmp_path, progress=False)
    model = load_trained(run.path, device="cpu")
    x = toy_images(4).as_float()
    assert type(model) is type(run.model) and torch.allclose(model.code(x), run.model.code(x))


def test_classifier_learns_and_is_cached(tmp_path):
    from vae_utils.train import classifier_accuracy, fit_classifier
    g = torch.Generator().manual_seed(0)
    labels = torch.randint(0, 2, (256,), generator=g)
    images = torch.zeros(256, 1, 8, 8, dtype=torch.uint8)
    images[labels == 1, :, :4] = 255  # class 1: top half bright
    data = ImageTensors(images, labels, {"dataset": "halves"})
    run = fit_classifier(TrainConfig(epochs=3, batch_size=32), data, data, name="c", checkpoint_dir=tmp_path, progress=False)
    assert run.history["val_accuracy"][-1] == 1.0 and classifier_accuracy(run.model, data) == 1.0
    assert fit_classifier(TrainConfig(epochs=3, batch_size=32), data, data, name="c", checkpoint_dir=tmp_path).from_cache


def test_training_run_record_keeps_the_history_up_to_a_divergence_and_caches_it(tmp_path, monkeypatch):
    from vae_utils.train import training_run_record
    # sigma = exp(-1000) underflows to 0: the loss is infinite on the first step
    diverging = TrainConfig(epochs=2, likelihood="gaussian", gaussian_log_scale=-1000.0)
    record = training_run_record(SPEC, diverging, toy_images(), name="nan", checkpoint_dir=tmp_path, progress=False)
    assert record["diverged"] and "epoch 1, step 1" in record["message"] and record["epochs_finished"] == 0
    assert not list(tmp_path.glob("*.pt")) and len(list(tmp_path.glob("*.run.json"))) == 1
    stable = TrainConfig(epochs=2, batch_size=64)
    record = training_run_record(SPEC, stable, toy_images(), name="ok", checkpoint_dir=tmp_path, progress=False)
    assert not record["diverged"] and record["epochs_finished"] == 2 and len(record["history"]["train_loss"]) == 2
    monkeypatch.setattr(train_module, "fit", lambda *a, **k: pytest.fail("a cached record must not train again"))
    assert training_run_record(SPEC, stable, toy_images(), name="ok", checkpoint_dir=tmp_path, progress=False) == record
    assert not list(tmp_path.glob("*.pt"))


def test_a_learned_scale_starts_where_the_config_says(tmp_path):
    config = TrainConfig(epochs=1, likelihood="discretized_gaussian", gaussian_log_scale=None, initial_log_scale=-2.0,
                         learning_rate=1e-6)
    run = fit(SPEC, config, toy_images(), name="start", checkpoint_dir=tmp_path, progress=False)
    assert run.model.log_scale.item() == pytest.approx(-2.0, abs=1e-2)
    assert "initial_log_scale" not in str(train_module.run_config(SPEC, TrainConfig(), toy_images(), None))


def test_report_loss_annealing_and_free_bits_are_named_settings_in_the_key(tmp_path):
    from vae_utils.train import run_config
    config = TrainConfig(epochs=2, batch_size=64, likelihood="squared_error", recon_reduction="mean", recon_weight=6000.0,
                         kl_warmup_epochs=1, free_bits=0.5)
    key = run_config(SPEC, config, toy_images(8), None)["train"]
    assert key == {"epochs": 2, "batch_size": 64, "likelihood": "squared_error", "recon_reduction": "mean",
                   "recon_weight": 6000.0, "kl_warmup_epochs": 1, "free_bits": 0.5}
    run = fit(SPEC, config, toy_images(), name="m", checkpoint_dir=tmp_path, progress=False)
    steps = len(run.history["first_epoch_kl"])
    assert steps == 4 and len(run.history["train_kl"]) == 2
    # the recorded loss is the weighted objective: 6000 * mean-MSE + (annealed, free-bits) KL >= 6000 * recon / D
    assert run.history["train_loss"][1] >= 6000 * run.history["train_recon"][1] / 64


@pytest.mark.parametrize("kwargs, message", [
    ({"recon_weight": 0.0}, "recon_weight"), ({"recon_reduction": "pixel"}, "recon_reduction"),
    ({"kl_warmup_epochs": -1}, "kl_warmup_epochs"), ({"free_bits": -0.1}, "free_bits")])
def test_bad_new_settings_are_clear_errors(kwargs, message):
    with pytest.raises(ValueError, match=message):
        TrainConfig(**kwargs)


def test_deferred_fit_trains_only_when_an_evaluation_is_not_cached(tmp_path, monkeypatch):
    calls = []
    real_fit = train_module.fit

    def counting_fit(*args, **kwargs):
        calls.append(kwargs["name"])
        return real_fit(*args, **kwargs)

    monkeypatch.setattr(train_module, "fit", counting_fit)
    config, images = TrainConfig(epochs=1), toy_images()

    def deferred(**options):
        return train_module.DeferredFit(SPEC, config, images, name="d", checkpoint_dir=tmp_path, progress=False, **options)

    first = deferred()
    assert first.path.parent == tmp_path and not first.path.exists() and calls == []  # nothing trained yet
    elbo = first.cached("elbo", lambda trained: trained.evaluate(images.images[:16])["elbo"], on={"images": 16})
    seconds = first.train_seconds
    assert calls == ["d"] and first.path.is_file() and seconds > 0
    first.path.unlink()  # the weights gone, the evaluations kept: no training needed for the numbers
    again = deferred()
    assert again.cached("elbo", lambda trained: pytest.fail("must not evaluate"), on={"images": 16}) == elbo
    assert again.train_seconds == seconds and calls == ["d"]
    # another evaluation setting is another cache entry: now it has to train
    again.cached("elbo", lambda trained: trained.evaluate(images.images[:8])["elbo"], on={"images": 8})
    assert calls == ["d", "d"] and again.history["train_loss"]  # attributes of the trained model come through


def test_deferred_fit_with_retrain_recomputes_its_evaluations(tmp_path):
    deferred = train_module.DeferredFit(SPEC, TrainConfig(epochs=1), toy_images(), name="r", checkpoint_dir=tmp_path,
                                        progress=False)
    assert deferred.cached("n", lambda trained: 1) == 1
    fresh = train_module.DeferredFit(SPEC, TrainConfig(epochs=1), toy_images(), name="r", checkpoint_dir=tmp_path,
                                     progress=False, retrain=True)
    assert fresh.cached("n", lambda trained: 2) == 2


def test_a_longer_run_continues_a_shorter_one_exactly(tmp_path, capsys, monkeypatch):
    # a clock that advances one second per reading inside train.py: each epoch counts exactly 1 s, whatever the load
    clock = iter(range(10**6))
    monkeypatch.setattr(train_module, "time", types.SimpleNamespace(perf_counter=lambda: float(next(clock))))
    data, val = toy_images(), toy_images(64, seed=1)
    straight = fit(SPEC, TrainConfig(epochs=3, batch_size=64), data, val, name="toy", checkpoint_dir=tmp_path / "a", progress=False)
    shorter = fit(SPEC, TrainConfig(epochs=2, batch_size=64), data, val, name="toy", checkpoint_dir=tmp_path / "b",
                  progress=False, keep_state=True)
    assert shorter.path.with_suffix(".state.pt").is_file()
    longer = fit(SPEC, TrainConfig(epochs=3, batch_size=64), data, val, name="toy", checkpoint_dir=tmp_path / "b",
                 progress=False, continue_from=shorter)
    assert longer.path.name == straight.path.name  # the same checkpoint key as training 3 epochs at once
    assert torch.equal(weights(longer.model), weights(straight.model))
    assert longer.history == straight.history
    assert (longer.train_seconds, straight.train_seconds) == (1.0, 3.0)  # only the third epoch is counted
    assert "No saved training state" not in capsys.readouterr().out


def test_continuing_without_a_saved_state_trains_every_epoch(tmp_path, capsys):
    data = toy_images()
    shorter = fit(SPEC, TrainConfig(epochs=1, batch_size=64), data, name="toy", checkpoint_dir=tmp_path, progress=False)
    assert not shorter.path.with_suffix(".state.pt").exists()  # kept only on request
    longer = fit(SPEC, TrainConfig(epochs=2, batch_size=64), data, name="toy", checkpoint_dir=tmp_path, progress=False,
                 continue_from=shorter)
    assert len(longer.history["train_loss"]) == 2
    assert f"No saved training state of {shorter.path.name}" in capsys.readouterr().out


@pytest.mark.parametrize("changes", [{"epochs": 1}, {"epochs": 2, "seed": 1}])
def test_continue_from_must_be_a_shorter_run_of_the_same_config(tmp_path, changes):
    data = toy_images()
    shorter = fit(SPEC, TrainConfig(epochs=1, batch_size=64), data, name="toy", checkpoint_dir=tmp_path, progress=False,
                  keep_state=True)
    with pytest.raises(ValueError, match="continue_from must be a run of the same model and config"):
        fit(SPEC, TrainConfig(batch_size=64, **changes), data, name="toy", checkpoint_dir=tmp_path, progress=False,
            continue_from=shorter)


def test_a_cached_continuation_loads_without_talking_about_training(tmp_path, capsys):
    """Notebook 02 printed "No saved training state ...; training all 12 epochs." and then loaded its checkpoint."""
    data = toy_images()
    shorter = fit(SPEC, TrainConfig(epochs=1, batch_size=64), data, name="toy", checkpoint_dir=tmp_path, progress=False)
    fit(SPEC, TrainConfig(epochs=2, batch_size=64), data, name="toy", checkpoint_dir=tmp_path, progress=False)
    capsys.readouterr()
    longer = fit(SPEC, TrainConfig(epochs=2, batch_size=64), data, name="toy", checkpoint_dir=tmp_path, progress=False,
                 continue_from=shorter)
    assert longer.from_cache and capsys.readouterr().out == ""


def test_a_read_only_cache_still_loads(tmp_path, monkeypatch):
    """Loading from a checkpoint folder on a read-only file system failed: fit removed a missing .partial.pt."""
    import errno
    import pathlib
    data = toy_images()
    fit(SPEC, TrainConfig(epochs=1, batch_size=64), data, name="toy", checkpoint_dir=tmp_path, progress=False)

    def read_only(self, missing_ok=False):
        raise OSError(errno.EROFS, "Read-only file system", str(self))

    monkeypatch.setattr(pathlib.Path, "unlink", read_only)
    assert fit(SPEC, TrainConfig(epochs=1, batch_size=64), data, name="toy", checkpoint_dir=tmp_path, progress=False).from_cache
