import pickle
import subprocess
import sys

import numpy as np
import pytest

from automl.engine.records import TrialRecord
from automl.final import Ensemble, StackedEnsemble, select_ensemble, stack
from automl.metrics import BUILTIN_METRICS

METRICS = {m.name: m for m in BUILTIN_METRICS}


def record(number, oof, metric, y, status="ok"):
    rows = np.isfinite(oof).reshape(len(oof), -1).all(axis=1)
    score = metric(y[rows], oof[rows]) if status == "ok" else None
    return TrialRecord(number=number, model="m", params={}, status=status, score=score,
                       oof=np.asarray(oof, dtype=np.float32))


def noisy_classifiers(n=400, k=3, members=3, noise=1.5, seed=0):
    """Members whose probabilities are the truth plus independent noise, softmaxed."""
    rng = np.random.default_rng(seed)
    y = rng.integers(0, k, n)
    oofs = []
    for _ in range(members):
        logits = 1.0 * np.eye(k)[y] + noise * rng.standard_normal((n, k))
        proba = np.exp(logits)
        oofs.append(proba / proba.sum(axis=1, keepdims=True))
    return y, oofs


def noisy_regressors(n=300, members=3, seed=0):
    rng = np.random.default_rng(seed)
    y = rng.standard_normal(n)
    return y, [y + rng.standard_normal(n) * (0.5 + 0.1 * i) for i in range(members)]


def records_of(y, oofs, metric):
    return [record(i, oof, metric, y) for i, oof in enumerate(oofs)]


@pytest.mark.filterwarnings("ignore:The y_prob values do not sum to one")
@pytest.mark.parametrize("name", ["log_loss", "accuracy", "roc_auc"])
def test_beats_best_single_classifier(name):
    metric = METRICS[name]
    y, oofs = noisy_classifiers()
    records = records_of(y, oofs, metric)
    ens = select_ensemble(records, y, metric, size=20)
    assert metric.to_loss(ens.score) < min(metric.to_loss(r.score) for r in records)
    assert sum(ens.weights) == pytest.approx(1.0)
    assert len(ens.members) >= 2 and len(ens.path) == 20
    combined = ens.combine({r.number: r.oof for r in records})
    assert metric(y, combined) == pytest.approx(ens.score)


def test_regression_beats_best_single():
    metric = METRICS["rmse"]
    y, oofs = noisy_regressors()
    records = records_of(y, oofs, metric)
    ens = select_ensemble(records, y, metric, size=30)
    assert ens.score < min(r.score for r in records)
    assert sum(ens.weights) == pytest.approx(1.0)
    combined = ens.combine({r.number: r.oof for r in records})
    assert combined.shape == y.shape
    assert metric(y, combined) == pytest.approx(ens.score)


def test_best_prefix_keeps_the_shorter_path():
    # A overshoots by 1, B undershoots by 1: A then B is exact; a third step hurts and
    # the later exact prefixes (4, 6, ... steps) tie with the shorter one
    metric = METRICS["rmse"]
    y = np.random.default_rng(1).integers(-5, 5, 50).astype(float)
    records = [record(0, y + 1.0, metric, y), record(1, y - 1.0, metric, y),
               record(2, y + 3.0, metric, y)]
    ens = select_ensemble(records, y, metric, size=10)
    assert ens.path[:4] == pytest.approx([1.0, 0.0, 1 / 3, 0.0])
    assert ens.members == [0, 1] and ens.weights == [0.5, 0.5]
    assert ens.score == 0.0


def test_holdout_nan_rows_are_ignored():
    metric = METRICS["log_loss"]
    y, oofs = noisy_classifiers(n=500)
    rows = np.arange(500) >= 400  # a 20% holdout validates the last rows only
    masked = [np.where(rows[:, None], oof, np.nan) for oof in oofs]
    masked[1][400] = np.nan  # one member also misses a holdout row
    keep = rows.copy()
    keep[400] = False
    full = select_ensemble(records_of(y, masked, metric), y, metric, size=15)
    sliced = select_ensemble(records_of(y[keep], [o[keep] for o in oofs], metric), y[keep],
                             metric, size=15)
    assert np.isfinite(full.score)
    assert (full.members, full.weights) == (sliced.members, sliced.weights)
    assert full.score == pytest.approx(sliced.score)


def test_single_model_gets_weight_one():
    metric = METRICS["mae"]
    y, oofs = noisy_regressors(members=1)
    ens = select_ensemble([record(7, oofs[0], metric, y)], y, metric, size=5)
    assert ens.members == [7] and ens.weights == [1.0]
    assert ens.score == pytest.approx(metric(y, oofs[0].astype(np.float32)))


def test_max_models_limits_the_candidates():
    metric = METRICS["rmse"]
    y, oofs = noisy_regressors(members=5)
    records = records_of(y, oofs, metric)  # noise grows with the index: 0 and 1 are best
    ens = select_ensemble(records, y, metric, max_models=2, size=20)
    assert set(ens.members) <= {0, 1}
    assert set(select_ensemble(records, y, metric, max_models=1).members) == {0}


def test_failed_and_oof_less_records_are_skipped():
    metric = METRICS["rmse"]
    y, oofs = noisy_regressors(members=2)
    perfect = y.astype(np.float32)
    records = records_of(y, oofs, metric) + [
        TrialRecord(number=5, model="m", params={}, status="failed", error="boom", oof=perfect),
        TrialRecord(number=6, model="m", params={}, status="ok", score=0.0, oof=None),
        TrialRecord(number=7, model="m", params={}, status="timeout", oof=perfect),
    ]
    ens = select_ensemble(records, y, metric)
    assert set(ens.members) <= {0, 1}
    with pytest.raises(ValueError, match="no successful trial"):
        select_ensemble(records[2:], y, metric)


def test_deterministic_and_ties_go_to_the_lower_index():
    metric = METRICS["log_loss"]
    y, oofs = noisy_classifiers()
    records = records_of(y, oofs, metric)
    twin = record(9, oofs[0], metric, y)  # the same predictions as trial 0, ranked after it
    a = select_ensemble(records + [twin], y, metric, size=25)
    b = select_ensemble([twin] + records, y, metric, size=25)
    assert a == b
    assert 9 not in a.members


def test_result_is_small_and_picklable():
    metric = METRICS["rmse"]
    y, oofs = noisy_regressors()
    ens = select_ensemble(records_of(y, oofs, metric), y, metric, size=10)
    copy = pickle.loads(pickle.dumps(ens))
    assert isinstance(copy, Ensemble) and copy == ens
    assert all(type(w) is float for w in ens.weights)
    assert all(type(m) is int for m in ens.members)


def test_combine_requires_every_member():
    ens = Ensemble(members=[1, 2], weights=[0.25, 0.75], score=0.0, path=[0.0])
    out = ens.combine({1: np.array([[1.0, 0.0]]), 2: np.array([[0.0, 1.0]]), 3: None})
    np.testing.assert_allclose(out, [[0.25, 0.75]])
    with pytest.raises(KeyError, match=r"no predictions for ensemble member\(s\) \[2\]"):
        ens.combine({1: np.zeros((1, 2))})


def test_invalid_inputs():
    metric = METRICS["rmse"]
    y, oofs = noisy_regressors(members=2)
    records = records_of(y, oofs, metric)
    with pytest.raises(ValueError, match="rows"):
        select_ensemble(records, y[:-1], metric)
    with pytest.raises(ValueError, match="positive"):
        select_ensemble(records, y, metric, size=0)
    with pytest.raises(ValueError, match="device"):
        select_ensemble(records, y, metric, device="tpu")
    all_nan = [TrialRecord(number=0, model="m", params={}, status="ok", score=1.0,
                           oof=np.full(len(y), np.nan, dtype=np.float32)), records[1]]
    with pytest.raises(ValueError, match="no row"):
        select_ensemble(all_nan, y, metric)


@pytest.mark.parametrize("name", ["accuracy", "log_loss", "roc_auc", "f1", "rmse", "mae", "r2"])
def test_numpy_and_torch_paths_agree(name):
    pytest.importorskip("torch")
    metric = METRICS[name]
    if "regression" in metric.tasks:
        y, oofs = noisy_regressors(n=120, members=4, seed=3)
    else:
        y, oofs = noisy_classifiers(n=120, members=4, seed=3)
    records = records_of(y, oofs, metric)
    cpu = select_ensemble(records, y, metric, size=15, device="cpu")
    torch_ = select_ensemble(records, y, metric, size=15, device="cpu", _backend="torch")
    assert (cpu.members, cpu.weights) == (torch_.members, torch_.weights)
    assert cpu.path == pytest.approx(torch_.path, rel=1e-9)
    assert cpu.score == pytest.approx(torch_.score, rel=1e-9)


def test_auto_device_and_missing_cuda():
    torch = pytest.importorskip("torch")
    metric = METRICS["rmse"]
    y, oofs = noisy_regressors(n=80)
    records = records_of(y, oofs, metric)
    auto = select_ensemble(records, y, metric, size=10, device="auto")
    cpu = select_ensemble(records, y, metric, size=10, device="cpu")
    assert (auto.members, auto.weights) == (cpu.members, cpu.weights)
    if not torch.cuda.is_available():
        with pytest.raises(ValueError, match="CUDA"):
            select_ensemble(records, y, metric, device="cuda")


def test_cpu_path_never_imports_torch():
    code = (
        "import sys, numpy as np\n"
        "from automl.final.ensemble import select_ensemble\n"
        "from automl.metrics import BUILTIN_METRICS\n"
        "from automl.engine.records import TrialRecord\n"
        "m = {x.name: x for x in BUILTIN_METRICS}['rmse']\n"
        "y = np.arange(10.0)\n"
        "r = [TrialRecord(0, 'm', {}, 'ok', 1.0, oof=(y + 1).astype(np.float32))]\n"
        "select_ensemble(r, y, m, device='cpu')\n"
        "assert 'torch' not in sys.modules\n"
    )
    subprocess.run([sys.executable, "-c", code], check=True)


def test_stack_classification():
    metric = METRICS["log_loss"]
    y, oofs = noisy_classifiers(n=400)
    records = records_of(y, oofs, metric)
    stacked = stack(records, y, metric, "multiclass", seed=0)
    assert isinstance(stacked, StackedEnsemble) and sorted(stacked.members) == [0, 1, 2]
    assert stacked.score < min(r.score for r in records)
    proba = stacked.predict_matrix({r.number: r.oof for r in records})
    assert proba.shape == (400, 3)
    np.testing.assert_allclose(proba.sum(axis=1), 1.0)
    in_order = stacked.predict_matrix([records[i].oof for i in stacked.members])
    np.testing.assert_array_equal(proba, in_order)
    again = stack(records, y, metric, "multiclass", seed=0)
    assert again.score == stacked.score
    assert pickle.loads(pickle.dumps(stacked)).score == stacked.score


def test_stack_regression_with_holdout_rows():
    metric = METRICS["rmse"]
    y, oofs = noisy_regressors(n=300)
    rows = np.arange(300) >= 100
    masked = [np.where(rows, oof, np.nan) for oof in oofs]
    records = records_of(y, masked, metric)
    stacked = stack(records, y, metric, "regression", seed=1)
    assert stacked.score < min(r.score for r in records)
    pred = stacked.predict_matrix({r.number: oof for r, oof in zip(records, oofs, strict=True)})
    assert pred.shape == (300,) and np.isfinite(pred).all()


def test_stack_with_a_class_missing_from_the_rows():
    metric = METRICS["log_loss"]
    y, oofs = noisy_classifiers(n=200, k=3, seed=2)
    keep = y != 2  # the validated rows hold two of the three classes
    masked = [np.where(keep[:, None], oof, np.nan) for oof in oofs]
    stacked = stack(records_of(y, masked, metric), y, metric, "multiclass", seed=0)
    proba = stacked.predict_matrix(oofs)
    assert proba.shape == (200, 3) and np.all(proba[:, 2] == 0)
    assert np.isfinite(stacked.score)


def test_torch_path_in_small_chunks(monkeypatch):
    pytest.importorskip("torch")
    import automl.final.ensemble as ensemble

    metric = METRICS["log_loss"]
    y, oofs = noisy_classifiers(n=100, members=5, seed=4)
    records = records_of(y, oofs, metric)
    whole = select_ensemble(records, y, metric, size=12, _backend="torch")
    monkeypatch.setattr(ensemble, "_TORCH_CHUNK_ELEMENTS", 2 * 100 * 3)  # two candidates
    chunked = select_ensemble(records, y, metric, size=12, _backend="torch")
    assert (chunked.members, chunked.weights) == (whole.members, whole.weights)
