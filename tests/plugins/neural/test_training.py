import numpy as np
import pytest

torch = pytest.importorskip("torch")

from plugins.neural._training import (  # noqa: E402
    DeviceOutOfMemoryError,
    TrainSettings,
    iterate_batches,
    make_optimizer,
    make_scheduler,
    predict_network,
    resolve_device,
    train_network,
    validation_split,
)


def blobs(n=400, seed=0):
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(n, 4)).astype(np.float32)
    y = ((X[:, 0] * X[:, 1] > 0) ^ (X[:, 2] > 1)).astype(np.int64)
    return X, y


def small_net():
    return torch.nn.Sequential(torch.nn.Linear(4, 32), torch.nn.ReLU(), torch.nn.Linear(32, 2))


def settings(**kwargs):
    base = dict(max_epochs=5, batch_size=64, learning_rate=1e-2, seed=0, device="cpu")
    return TrainSettings(**{**base, **kwargs})


def weights(model):
    return {k: v.detach().clone() for k, v in model.state_dict().items()}


def test_resolve_device_here():
    expected = "cuda" if torch.cuda.is_available() else "cpu"
    assert resolve_device("auto") == expected
    assert resolve_device(None) == expected
    assert resolve_device("cpu") == "cpu"
    with pytest.raises(ValueError, match="device must be"):
        resolve_device("tpu")
    if not torch.cuda.is_available():
        with pytest.raises(RuntimeError, match="CUDA is not available"):
            resolve_device("cuda")
        assert resolve_device("cuda:0", strict=False) == "cpu"


def test_trains_and_predicts():
    X, y = blobs()
    result = train_network(small_net, (X, y), settings(max_epochs=30, patience=None),
                           task="classification")
    logits = predict_network(result.model, (X,))
    assert logits.shape == (len(X), 2) and logits.dtype == np.float32
    assert (logits.argmax(1) == y).mean() > 0.85
    assert result.device == "cpu" and result.epochs == 30
    assert result.n_train + result.n_valid == len(X) and result.n_valid == 40
    assert result.history[-1].train_loss < result.history[0].train_loss
    assert result.seconds_per_epoch > 0


def test_early_stopping_restores_the_best_weights():
    # random labels: the validation loss rises once the net starts memorising
    rng = np.random.default_rng(1)
    X = rng.normal(size=(200, 4)).astype(np.float32)
    y = rng.integers(0, 2, size=200)
    Xv = rng.normal(size=(100, 4)).astype(np.float32)
    yv = rng.integers(0, 2, size=100)
    snapshots = {}

    def remember(record, model):
        snapshots[record.epoch] = weights(model)

    def big_net():
        return torch.nn.Sequential(torch.nn.Linear(4, 256), torch.nn.ReLU(),
                                   torch.nn.Linear(256, 256), torch.nn.ReLU(),
                                   torch.nn.Linear(256, 2))

    result = train_network(big_net, (X, y), settings(max_epochs=200, patience=3,
                                                     schedule="constant", weight_decay=0.0),
                           task="classification", validation=(Xv, yv), on_epoch_end=remember)
    assert result.stop_reason == "early_stopping"
    assert result.epochs == result.best_epoch + 3 < 200
    best = [r.val_loss for r in result.history]
    assert result.best_val_loss == min(best)
    final = weights(result.model)
    for key, value in snapshots[result.best_epoch].items():
        assert torch.equal(final[key], value)
    assert not all(torch.equal(final[k], v) for k, v in snapshots[result.epochs].items())
    assert not result.model.training


def test_time_limit_stops_between_batches():
    X, y = blobs(2000)
    result = train_network(small_net, (X, y),
                           settings(max_epochs=100_000, batch_size=8, time_limit=0.3),
                           task="classification")
    assert result.stop_reason == "time_limit"
    assert result.seconds < 2.0
    assert result.epochs < 100_000


def test_same_seed_same_model_other_seed_other_model():
    X, y = blobs()
    kw = dict(max_epochs=4)
    a = train_network(small_net, (X, y), settings(**kw), task="classification")
    b = train_network(small_net, (X, y), settings(**kw), task="classification")
    c = train_network(small_net, (X, y), settings(seed=1, **kw), task="classification")
    wa, wb, wc = weights(a.model), weights(b.model), weights(c.model)
    assert all(torch.equal(wa[k], wb[k]) for k in wa)
    assert [r.val_loss for r in a.history] == [r.val_loss for r in b.history]
    assert not all(torch.equal(wa[k], wc[k]) for k in wa)


def test_callers_random_state_is_untouched():
    X, y = blobs(100)
    torch.manual_seed(123)
    expected = torch.rand(3)
    torch.manual_seed(123)
    train_network(small_net, (X, y), settings(max_epochs=2), task="classification")
    assert torch.equal(torch.rand(3), expected)


def test_l1_penalty_shrinks_the_weights():
    X, y = blobs()

    def l1_norm(result):
        return sum(p.abs().sum().item() for p in result.model.parameters() if p.ndim >= 2)

    plain = train_network(small_net, (X, y), settings(max_epochs=10, patience=None),
                          task="classification")
    sparse = train_network(small_net, (X, y), settings(max_epochs=10, patience=None, l1=1e-2),
                           task="classification")
    assert l1_norm(sparse) < 0.7 * l1_norm(plain)


def test_threads_and_deterministic_flag_are_restored():
    X, y = blobs(100)
    before = torch.get_num_threads()
    det_before = torch.are_deterministic_algorithms_enabled()
    seen = []
    train_network(small_net, (X, y), settings(max_epochs=2, n_threads=1),
                  task="classification",
                  on_epoch_end=lambda r, m: seen.append(torch.get_num_threads()))
    assert seen == [1, 1]
    assert torch.get_num_threads() == before
    assert torch.are_deterministic_algorithms_enabled() == det_before

    def explode(model, batch):
        raise ValueError("boom")

    with pytest.raises(ValueError, match="boom"):
        train_network(small_net, (X, y), settings(n_threads=1), compute_loss=explode)
    assert torch.get_num_threads() == before
    assert torch.are_deterministic_algorithms_enabled() == det_before


def test_out_of_memory_becomes_a_clear_error():
    X, y = blobs(100)

    def oom(model, batch):
        raise torch.OutOfMemoryError("CUDA out of memory. Tried to allocate 20.00 GiB")

    with pytest.raises(DeviceOutOfMemoryError, match=r"out of memory on cpu: .*lower batch_size"):
        train_network(small_net, (X, y), settings(), compute_loss=oom)
    assert issubclass(DeviceOutOfMemoryError, RuntimeError)


def test_divergence_is_reported():
    X, y = blobs(100)

    def nan_loss(model, batch):
        return model(batch[0]).sum() * float("nan")

    with pytest.raises(RuntimeError, match="diverged.*lower learning_rate"):
        train_network(small_net, (X, y), settings(), compute_loss=nan_loss)


def test_regression_dataset_and_schedules():
    rng = np.random.default_rng(0)
    X = rng.normal(size=(300, 4)).astype(np.float32)
    y = (X @ np.array([1.0, -2.0, 0.5, 0.0], dtype=np.float32))
    dataset = torch.utils.data.TensorDataset(torch.from_numpy(X), torch.from_numpy(y))
    for schedule in ("cosine", "onecycle", "constant"):
        result = train_network(lambda: torch.nn.Linear(4, 1), dataset,
                               settings(max_epochs=20, schedule=schedule, patience=None,
                                        learning_rate=0.1),
                               task="regression")
        pred = predict_network(result.model, X)[:, 0]
        assert np.mean((pred - y) ** 2) < 0.1 * np.var(y), schedule
    with pytest.raises(ValueError, match="schedule"):
        TrainSettings(schedule="step")


def test_schedules_reach_their_ends():
    net = small_net()
    for schedule, last in (("cosine", 0.01), ("onecycle", 1e-4 / 25), ("constant", 1.0)):
        opt = make_optimizer(net, 1.0, 0.1)
        sched = make_scheduler(opt, schedule, 100)
        for _ in range(99):
            opt.step()
            sched.step()
        assert opt.param_groups[0]["lr"] == pytest.approx(last, rel=0.05, abs=1e-6), schedule
    groups = make_optimizer(net, 1e-3, 0.1).param_groups
    assert [g["weight_decay"] for g in groups] == [0.1, 0.0]  # biases are not decayed


def test_validation_split_is_stratified_and_seeded():
    labels = np.array([0] * 90 + [1] * 10 + [2])
    train, valid = validation_split(len(labels), 0.2, seed=3, labels=labels)
    assert len(np.intersect1d(train, valid)) == 0 and len(train) + len(valid) == len(labels)
    assert (labels[valid] == 0).sum() == 18 and (labels[valid] == 1).sum() == 2
    assert 2 in labels[train]  # a lone class stays in training
    again = validation_split(len(labels), 0.2, seed=3, labels=labels)
    assert np.array_equal(valid, again[1])


def test_batches_never_leave_a_single_row_for_batch_norm():
    X, y = blobs(129)
    sizes = [len(b[0]) for b in iterate_batches((X, y), batch_size=64, train=True,
                                                shuffle=True, seed=0)]
    assert sizes == [64, 64]
    net = lambda: torch.nn.Sequential(torch.nn.Linear(4, 8), torch.nn.BatchNorm1d(8),  # noqa: E731
                                      torch.nn.Linear(8, 2))
    train_network(net, (X, y), settings(max_epochs=1, validation_fraction=0.0),
                  task="classification")
