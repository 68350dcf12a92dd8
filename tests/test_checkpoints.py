import pytest
import torch

from vae_utils import checkpoints


def test_key_is_stable_and_order_independent():
    a = {"model": {"latent": 2, "arch": "conv"}, "epochs": 5}
    b = {"epochs": 5, "model": {"arch": "conv", "latent": 2}}
    assert checkpoints.config_key(a) == checkpoints.config_key(b)
    assert checkpoints.config_key(a) != checkpoints.config_key({**a, "epochs": 6})
    assert checkpoints.checkpoint_path("ck", "run", a).name == f"run-{checkpoints.config_key(a)}.pt"


def test_save_load_round_trip_and_config_mismatch(tmp_path):
    path = tmp_path / "m.pt"
    checkpoints.save_checkpoint(path, {"a": 1}, {"model": {"w": torch.ones(2)}, "history": {"loss": [1.0]}})
    state = checkpoints.load_checkpoint(path, {"a": 1})
    assert torch.equal(state["model"]["w"], torch.ones(2)) and state["history"] == {"loss": [1.0]}
    with pytest.warns(UserWarning, match="another config"):
        assert checkpoints.load_checkpoint(path, {"a": 2}) is None
    assert checkpoints.load_checkpoint(tmp_path / "missing.pt", {"a": 1}) is None


def test_interrupted_save_leaves_the_old_file_and_no_temporary(tmp_path):
    path = tmp_path / "m.pt"
    checkpoints.save_checkpoint(path, {"a": 1}, {"value": torch.tensor(1)})

    def broken(f):
        f.write(b"half a checkpoint")
        raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        checkpoints.atomic_write(path, broken)
    assert checkpoints.load_checkpoint(path, {"a": 1})["value"] == 1
    assert sorted(p.name for p in tmp_path.iterdir()) == ["m.pt"]


def test_weights_only_loading_refuses_arbitrary_objects(tmp_path):
    path = tmp_path / "evil.pt"
    torch.save({"config_json": checkpoints.canonical_json({}), "obj": object()}, path)
    with pytest.warns(UserWarning, match="evil.pt is unreadable"):
        assert checkpoints.load_checkpoint(path, {}) is None
    assert not path.exists() and (tmp_path / "evil.pt.corrupt").is_file()


def test_truncated_checkpoint_is_a_cache_miss_set_aside(tmp_path):
    path = tmp_path / "m.pt"
    checkpoints.save_checkpoint(path, {"a": 1}, {"value": torch.ones(100)})
    path.write_bytes(path.read_bytes()[:200])
    with pytest.warns(UserWarning, match=r"m.pt is unreadable .*moved it to m.pt.corrupt"):
        assert checkpoints.load_checkpoint(path, {"a": 1}) is None
    assert not path.exists() and (tmp_path / "m.pt.corrupt").is_file()


@pytest.mark.parametrize("content", ['{"config_json": "{}", "val', "[1, 2]", '{"value": 3}'])
def test_unreadable_cached_evaluation_is_recomputed(tmp_path, content):
    path = tmp_path / "iwae.json"
    path.write_text(content)
    with pytest.warns(UserWarning, match="iwae.json is unreadable"):
        assert checkpoints.cached_json(path, {"k": 10}, lambda: 4.5) == 4.5
    assert (tmp_path / "iwae.json.corrupt").read_text() == content
    assert checkpoints.cached_json(path, {"k": 10}, lambda: 0.0) == 4.5


def test_cached_json_computes_once_per_config(tmp_path):
    calls = []
    compute = lambda: calls.append(1) or {"bound": -90.5}
    path = tmp_path / "iwae.json"
    assert checkpoints.cached_json(path, {"k": 10}, compute) == {"bound": -90.5}
    assert checkpoints.cached_json(path, {"k": 10}, compute) == {"bound": -90.5}
    assert len(calls) == 1
    checkpoints.cached_json(path, {"k": 20}, compute)
    assert len(calls) == 2


def test_compact_state_halves_floats_only():
    state = checkpoints.compact_state({"w": torch.ones(3), "count": torch.tensor(7)})
    assert state["w"].dtype == torch.float16 and state["count"].dtype == torch.int64


def test_load_or_train_trains_once_then_loads_the_rounded_weights(tmp_path):
    from vae_utils.checkpoints import load_or_train
    calls = []

    def train():
        calls.append(1)
        with torch.no_grad():
            model.weight.fill_(0.1234567)  # not representable in float16
        return {"loss": [1.0, 0.5]}, 2.5

    model = torch.nn.Linear(2, 2)
    history, seconds, cached = load_or_train(tmp_path / "m.pt", {"a": 1}, model, train)
    assert (history, seconds, cached, len(calls)) == ({"loss": [1.0, 0.5]}, 2.5, False, 1)
    assert not model.training and model.weight[0, 0].item() == torch.tensor(0.1234567).half().float().item()
    again = torch.nn.Linear(2, 2)
    history, seconds, cached = load_or_train(tmp_path / "m.pt", {"a": 1}, again, train)
    assert (history, seconds, cached, len(calls)) == ({"loss": [1.0, 0.5]}, 2.5, True, 1)
    assert torch.equal(again.weight, model.weight)
    load_or_train(tmp_path / "m2.pt", {"a": 2}, again, train)  # another config: trains
    load_or_train(tmp_path / "m.pt", {"a": 1}, again, train, retrain=True)
    assert len(calls) == 3


def test_a_full_disk_is_an_os_error_naming_the_file(tmp_path, monkeypatch):
    """torch.save onto a full disk raised `RuntimeError: [enforce fail at inline_container.cc] unexpected pos`."""
    import errno
    import io
    import os

    class FullDisk(io.RawIOBase):
        def __init__(self, handle):
            self.handle, self.written = handle, 0

        def writable(self):
            return True

        def write(self, chunk):
            self.written += len(chunk)
            if self.written > 1000:
                raise OSError(errno.ENOSPC, "No space left on device")
            return len(chunk)

        def close(self):
            os.close(self.handle)
            super().close()

    monkeypatch.setattr(checkpoints.os, "fdopen", lambda handle, mode: io.BufferedWriter(FullDisk(handle)))
    path = tmp_path / "model.pt"
    with pytest.raises(OSError) as error:
        checkpoints.save_checkpoint(path, {"a": 1}, {"w": torch.zeros(10_000)})
    assert error.value.errno == errno.ENOSPC and str(path) in str(error.value) and "No space left" in str(error.value)
    assert list(tmp_path.iterdir()) == []


def test_set_aside_warnings_have_their_own_class(tmp_path):
    path = tmp_path / "model.pt"
    path.write_bytes(b"not a checkpoint")
    with pytest.warns(checkpoints.CacheSetAsideWarning, match="model.pt is unreadable"):
        assert checkpoints.load_checkpoint(path, {"a": 1}) is None
