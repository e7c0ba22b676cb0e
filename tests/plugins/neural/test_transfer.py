import pickle

import numpy as np
import pytest

torch = pytest.importorskip("torch")

# the tests themselves call torch.jit (deprecated in recent torch) to make backbone files
pytestmark = pytest.mark.filterwarnings("ignore:.torch.jit:DeprecationWarning")

from torch import nn  # noqa: E402

from automl.testing import check_model_spec, make_modality_data  # noqa: E402
from plugins.neural._training import DeviceOutOfMemoryError, TrainSettings  # noqa: E402
from plugins.neural.transfer import (  # noqa: E402
    TRANSFER_MAX_EPOCHS,
    TransferCNNClassifier,
    TransferCNNRegressor,
    freeze_then_unfreeze,
    transfer_spec,
)
from plugins.neural.transfer.backbone import TorchScriptBackbone, backbone_features  # noqa: E402
from plugins.neural.transfer.net import TransferNet  # noqa: E402


@pytest.fixture(autouse=True, scope="module")
def one_torch_thread():
    previous = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(previous)


class TinyBackbone(nn.Module):
    """A stand-in for a pretrained network: 4-D feature maps out."""

    def __init__(self, in_channels: int = 1):
        super().__init__()
        self.conv1 = nn.Conv2d(in_channels, 8, 3, padding=1)
        self.bn = nn.BatchNorm2d(8)
        self.conv2 = nn.Conv2d(8, 12, 3, padding=1)

    def forward(self, x):
        return torch.relu(self.conv2(torch.relu(self.bn(self.conv1(x)))))


class VectorBackbone(nn.Module):
    """Returns (N, F) features, and cannot be scripted (varargs)."""

    def __init__(self):
        super().__init__()
        self.linear = nn.Linear(64, 16)

    def forward(self, *inputs):
        return self.linear(inputs[0].flatten(1))


class GreedyBackbone(nn.Module):
    """Asks for 2**62 bytes while training: a real allocation failure."""

    def __init__(self):
        super().__init__()
        self.conv = nn.Conv2d(1, 4, 3, padding=1)

    def forward(self, x):
        if self.training:
            x = x + torch.empty([1 << 60], device=x.device).sum()
        return self.conv(x)


def digit_images(n, seed=0):
    from sklearn.datasets import load_digits

    digits = load_digits()
    rows = np.random.default_rng(seed).permutation(len(digits.target))[:n]
    return digits.images[rows][:, None].astype(np.float32), digits.target[rows]


def state(module):
    return {k: v.detach().clone() for k, v in module.state_dict().items()}


def same(a, b):
    return a.keys() == b.keys() and all(torch.equal(a[k], b[k]) for k in a)


def test_conformance():
    spec = transfer_spec(TinyBackbone(), name="tiny_transfer")
    assert spec.name == "tiny_transfer" and spec.modalities == {"image"}
    assert spec.fidelity.param == "max_epochs" and spec.fidelity.high == TRANSFER_MAX_EPOCHS
    check_model_spec(spec, n_configs=1, seed=0)


def test_freeze_then_unfreeze_really_happens():
    X, y = digit_images(200)
    module = TorchScriptBackbone.from_source(TinyBackbone()).load()
    net = TransferNet(module, 1, backbone_features(module, (1, 8, 8)), 10)
    before = state(net.backbone)
    head_before = state(net.head)
    seen = {}

    def snapshot(phase, model):
        seen[phase] = (state(model.backbone), state(model.head),
                       [p.requires_grad for p in model.backbone.parameters()])

    settings = TrainSettings(max_epochs=2, batch_size=32, learning_rate=1e-2, seed=0,
                             device="cpu", patience=None)
    results = freeze_then_unfreeze(
        net, (X, y), settings, settings, task="classification",
        compute_loss=lambda m, b: nn.functional.cross_entropy(m(b[0]), b[1]),
        on_phase_end=snapshot,
    )
    assert [phase for phase, _ in results] == ["head", "finetune"]
    backbone_after_head, head_after_head, grads_in_head = seen["head"]
    # head phase: backbone weights AND batch-norm statistics untouched, head trained
    assert same(backbone_after_head, before) and not any(grads_in_head)
    assert not same(head_after_head, head_before)
    # fine-tuning phase: the backbone trains too
    backbone_after_tune, _, grads_in_tune = seen["finetune"]
    assert all(grads_in_tune)
    changed = [k for k in before if not torch.equal(before[k], backbone_after_tune[k])]
    assert "conv1.weight" in changed and "bn.running_mean" in changed


def test_estimator_learns_digits_with_both_phases_or_a_linear_probe():
    X, y = digit_images(400)
    backbone = TorchScriptBackbone.from_source(TinyBackbone())
    est = TransferCNNClassifier(backbone=backbone, head_epochs=4, max_epochs=8, patience=None,
                                learning_rate=2e-2, finetune_lr_multiplier=0.3,
                                device="cpu").fit(X[:300], y[:300])
    phases = [h["phase"] for h in est.history_]
    assert phases == ["head"] * 4 + ["finetune"] * 8
    assert est.score(X[300:], y[300:]) > 0.75  # an untrained backbone, fine-tuned briefly
    probe = TransferCNNClassifier(backbone=backbone, head_epochs=3, unfreeze=False,
                                  device="cpu").fit(X[:300], y[:300])
    assert {h["phase"] for h in probe.history_} == {"head"}
    original = state(backbone.load())
    assert all(np.array_equal(probe.weights_["backbone." + k], v.numpy())
               for k, v in original.items())
    reg = TransferCNNRegressor(backbone=backbone, head_epochs=1, max_epochs=1,
                               device="cpu").fit(X[:100], y[:100].astype(float))
    assert reg.predict(X[:5]).shape == (5,)


def test_a_backbone_that_rejects_the_images_gives_a_clear_error():
    from automl import AutoML

    spec = transfer_spec(TinyBackbone(in_channels=3), name="rgb_transfer")
    X, y, ctx = make_modality_data("image", "binary", n_rows=40)  # grey images
    message = r"backbone 'TinyBackbone' does not accept images of shape \(C, H, W\) = \(1, 8, 8\)"
    with pytest.raises(ValueError, match=message) as info:
        spec.accepts(ctx)
    assert "3 channels" in str(info.value) and "np.repeat(X, 3, axis=1)" in str(info.value)
    # the engine asks before any trial runs
    with pytest.raises(ValueError, match=message):
        AutoML(models=["cnn", spec], max_trials=1, time_budget=30, verbose=0).fit(X[:, 0], y)
    _, _, rgb_ctx = make_modality_data("image", "binary", n_rows=40, channels=3)
    assert spec.accepts(rgb_ctx) and spec.supports(rgb_ctx)


def test_torchscript_file_and_traced_modules(tmp_path):
    path = tmp_path / "my_backbone.pt"
    torch.jit.save(torch.jit.script(TinyBackbone()), str(path))
    spec = transfer_spec(path)
    X, y, ctx = make_modality_data("image", "multiclass", n_rows=60)
    assert spec.accepts(ctx)
    est = spec.build({"head_epochs": 1, "max_epochs": 1}, ctx).fit(X, y)
    assert est.backbone.name == "my_backbone" and est.predict_proba(X).shape == (60, 3)
    with pytest.raises(ValueError, match="does not exist"):
        transfer_spec(tmp_path / "missing.pt")
    (tmp_path / "junk.pt").write_bytes(b"not a model")
    with pytest.raises(ValueError, match="not a TorchScript archive"):
        transfer_spec(tmp_path / "junk.pt")
    with pytest.raises(ValueError, match=r"pass input_shape=\(C, H, W\)"):
        transfer_spec(VectorBackbone())
    traced = transfer_spec(VectorBackbone(), input_shape=(1, 8, 8))
    assert traced.accepts(ctx)
    assert traced.build({"max_epochs": 1, "head_epochs": 1}, ctx).fit(X, y).predict(X).shape \
        == (60,)
    with pytest.raises(ValueError, match="torch.nn.Module or the path"):
        transfer_spec(42)


def test_save_and_load_through_automl_persistence(tmp_path):
    from automl import AutoML

    X, y = digit_images(120)
    spec = transfer_spec(TinyBackbone())
    model = AutoML(models=[spec], max_trials=1, time_budget=60, random_state=0, cv=2,
                   ensemble=None, backend="inprocess", verbose=0).fit(X[:, 0], y)
    assert model.best_trial_.model == "transfer_cnn"
    expected = model.predict_proba(X[:20, 0])
    model.save(tmp_path / "model")
    backbone = "plugins.neural.transfer.backbone.TorchScriptBackbone"
    with pytest.raises(ValueError, match="not trusted.*TorchScriptBackbone"):
        AutoML.load(tmp_path / "model")  # a saved backbone is a program: trust it by name
    loaded = AutoML.load(tmp_path / "model", trusted=[backbone])
    assert np.array_equal(loaded.predict_proba(X[:20, 0]), expected)
    fitted = next(iter(model.final_.estimators.values()))
    assert "_net" not in fitted.__getstate__()
    assert np.array_equal(pickle.loads(pickle.dumps(fitted)).predict_proba(X[:20]),
                          fitted.predict_proba(X[:20]))


def test_out_of_memory_becomes_a_failed_trial_with_the_reason():
    from automl import AutoML

    spec = transfer_spec(GreedyBackbone(), name="greedy")
    X, y, ctx = make_modality_data("image", "binary", n_rows=40)
    assert spec.accepts(ctx)  # the dry run (eval mode) is fine
    with pytest.raises(DeviceOutOfMemoryError, match="out of memory on cpu.*lower batch_size"):
        spec.build({"max_epochs": 1}, ctx).fit(X, y)
    with pytest.raises(RuntimeError, match="DeviceOutOfMemoryError: out of memory on cpu"):
        AutoML(models=[spec], max_trials=1, time_budget=30, cv=2, backend="inprocess",
               verbose=0).fit(X[:, 0], y)
