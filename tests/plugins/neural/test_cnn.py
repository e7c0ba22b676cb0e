import pickle
import subprocess
import sys
from dataclasses import replace

import numpy as np
import pytest

torch = pytest.importorskip("torch")

from sklearn.base import clone, is_classifier, is_regressor  # noqa: E402
from sklearn.metrics import r2_score  # noqa: E402

from automl.specs import Context  # noqa: E402
from automl.testing import check_model_spec, make_modality_data  # noqa: E402
from plugins.neural import cnn  # noqa: E402
from plugins.neural._training import DeviceOutOfMemoryError  # noqa: E402
from plugins.neural.cnn import CNN_MAX_EPOCHS, ImageCNNClassifier  # noqa: E402
from plugins.neural.cnn.augment import (  # noqa: E402
    ImageAugmenter,
    color_jitter,
    random_flip,
    random_rotation,
    random_shift,
    shift_pixels,
)
from plugins.neural.cnn.net import ResidualCNN, stem_halvings  # noqa: E402


@pytest.fixture(autouse=True, scope="module")
def one_torch_thread():
    previous = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(previous)


def registered_specs():
    specs = []
    cnn.automl_register_models(register=specs.append)
    return {spec.name: spec for spec in specs}


SPEC = registered_specs()["cnn"]


def bars(n, size=10, seed=0):
    """Grey images 0..255: a horizontal bar (0), a vertical bar (1) or both (2), anywhere."""
    rng = np.random.default_rng(seed)
    X = rng.uniform(0, 40, size=(n, 1, size, size)).astype(np.float32)
    y = np.arange(n) % 3
    rng.shuffle(y)
    for i, label in enumerate(y):
        row, col = rng.integers(1, size - 1, size=2)
        if label in (0, 2):
            X[i, 0, row, :] = 255
        if label in (1, 2):
            X[i, 0, :, col] = 255
    return X, y


# -- the spec ----------------------------------------------------------------


def test_registers_cnn_for_images_and_both_tasks():
    from automl.registry import Registry

    assert SPEC.tasks == {"classification", "regression"}
    assert SPEC.modalities == {"image"}
    assert SPEC.fidelity.param == "max_epochs" and SPEC.fidelity.high == CNN_MAX_EPOCHS
    assert len(SPEC.defaults) == 2
    assert [d["flip"] for d in SPEC.defaults] == [False, True]  # digits-safe default first
    assert "cnn" in Registry(autoload=False).models


def test_conformance():
    check_model_spec(SPEC, n_configs=1, seed=0)


def test_importing_the_plugin_does_not_import_torch():
    code = ("import sys, automl.registry, plugins.neural.cnn, plugins.neural.transfer; "
            "assert 'torch' not in sys.modules, 'torch imported'")
    subprocess.run([sys.executable, "-c", code], check=True)


def test_build_follows_config_and_context():
    _, _, ctx = make_modality_data("image", "multiclass", n_threads=4)
    est = SPEC.build({"max_epochs": 3, "use_l1": True, "l1": 1e-5, "base_channels": 8,
                      "flip": True}, ctx)
    assert isinstance(est, ImageCNNClassifier) and is_classifier(est)
    assert est.max_epochs == 3 and est.l1 == 1e-5 and est.base_channels == 8 and est.flip
    assert est.n_threads == 1  # tiny images: one thread
    assert est.random_state == ctx.seed and est.device == ctx.device
    assert est.time_limit is None
    assert SPEC.build({}, ctx).max_epochs == CNN_MAX_EPOCHS
    assert SPEC.build({}, replace(ctx, time_limit=2.5)).time_limit == 2.5
    assert SPEC.build({"use_l1": False}, ctx).l1 == 0.0
    _, _, reg_ctx = make_modality_data("image", "regression")
    assert is_regressor(SPEC.build({}, reg_ctx))
    big = Context(task="binary", n_rows=50_000, n_features=3 * 32 * 32, n_classes=2,
                  modality="image", input_shape=(3, 32, 32), n_threads=2)
    assert SPEC.build({}, big).n_threads == 2


# -- the network ---------------------------------------------------------------


def test_network_shapes_and_stem():
    assert [stem_halvings(s, s) for s in (8, 28, 32, 64, 96, 224)] == [0, 0, 1, 1, 2, 2]
    for shape in ((1, 8, 8), (3, 32, 32), (4, 7, 13)):
        net = ResidualCNN(shape[0], shape[1], shape[2], 5, n_stages=3, blocks_per_stage=2,
                          base_channels=8)
        assert net(torch.zeros(2, *shape)).shape == (2, 5)


# -- augmentations -------------------------------------------------------------


def test_augmentations_keep_shapes_and_are_identity_when_off():
    images = torch.rand(6, 3, 9, 11)
    assert random_shift(images, 0) is images
    assert random_flip(images, 0.0) is images
    assert random_rotation(images, 0.0) is images
    assert color_jitter(images, 0.0) is images
    grey = torch.rand(6, 1, 9, 11)
    assert color_jitter(grey, 0.3) is grey  # RGB only
    off = ImageAugmenter()
    assert not off.active and off(images) is images
    on = ImageAugmenter(shift=2, flip=True, rotation=15, color_jitter=0.3, seed=1)
    assert on.active and on(images).shape == images.shape
    for fn, arg in ((random_shift, 2), (random_flip, 0.5), (random_rotation, 10.0),
                    (color_jitter, 0.2)):
        assert fn(images, arg, torch.Generator().manual_seed(0)).shape == images.shape


def test_augmentations_are_seeded():
    images = torch.rand(8, 3, 10, 10)

    def run(seed):
        augmenter = ImageAugmenter(shift=2, flip=True, rotation=10, color_jitter=0.2, seed=seed)
        return [augmenter(images) for _ in range(2)]

    first, again, other = run(0), run(0), run(1)
    assert all(torch.equal(a, b) for a, b in zip(first, again, strict=True))
    assert not torch.equal(first[0], first[1])  # the generator moves on between batches
    assert not torch.equal(first[0], other[0])


def test_flip_mirrors_left_to_right():
    images = torch.rand(20, 2, 5, 7)
    assert torch.equal(random_flip(images, 1.0), images.flip(-1))
    half = random_flip(images, 0.5, torch.Generator().manual_seed(3))
    flipped = [torch.equal(h, i.flip(-1)) for h, i in zip(half, images, strict=True)]
    kept = [torch.equal(h, i) for h, i in zip(half, images, strict=True)]
    assert all(f or k for f, k in zip(flipped, kept, strict=True))
    assert 0 < sum(flipped) < 20


def test_shift_moves_images_by_at_most_the_shift():
    images = torch.zeros(40, 1, 9, 9)
    images[:, 0, 4, 4] = 1.0
    shifted = random_shift(images, 2, torch.Generator().manual_seed(0))
    assert torch.allclose(shifted.sum(dim=(1, 2, 3)), torch.ones(40))  # the dot stays whole
    rows, cols = torch.nonzero(shifted[:, 0] == 1.0, as_tuple=True)[1:]
    assert (rows - 4).abs().max() <= 2 and (cols - 4).abs().max() <= 2
    assert len({(int(r), int(c)) for r, c in zip(rows, cols, strict=True)}) > 5
    assert shift_pixels(8, 0.125) == 1 and shift_pixels(32, 0.125) == 4
    assert shift_pixels(8, 0.01) == 1 and shift_pixels(8, 0.0) == 0


def test_rotation_turns_about_the_centre_within_the_angle():
    n, size, radius = 30, 17, 5  # odd size: the centre is pixel 8
    images = torch.zeros(n, 1, size, size)
    images[:, 0, 8, 8 + radius] = 1.0  # a dot right of the centre
    rotated = random_rotation(images, 30.0, torch.Generator().manual_seed(0))
    grid_y, grid_x = torch.meshgrid(torch.arange(size) - 8.0, torch.arange(size) - 8.0,
                                    indexing="ij")
    mass = rotated[:, 0].sum(dim=(1, 2))
    x = (rotated[:, 0] * grid_x).sum(dim=(1, 2)) / mass
    y = (rotated[:, 0] * grid_y).sum(dim=(1, 2)) / mass
    distance = torch.sqrt(x ** 2 + y ** 2)
    angles = torch.rad2deg(torch.atan2(y, x))
    assert torch.allclose(distance, torch.full((n,), float(radius)), atol=0.35)
    assert angles.abs().max() <= 30.5 and angles.std() > 5
    constant = torch.full((4, 3, 8, 8), 7.0)  # edge padding: nothing new comes in
    assert torch.allclose(random_rotation(constant, 20.0), constant)


def test_color_jitter_changes_colours_but_keeps_grey_grey():
    rgb = torch.rand(10, 3, 6, 6) * 255
    jittered = color_jitter(rgb, 0.4, torch.Generator().manual_seed(0))
    assert not torch.allclose(jittered, rgb)
    grey = torch.rand(10, 1, 6, 6).repeat(1, 3, 1, 1) * 255
    out = color_jitter(grey, 0.4, torch.Generator().manual_seed(0))
    assert torch.allclose(out[:, 0], out[:, 1], atol=1e-3)
    assert torch.allclose(out[:, 1], out[:, 2], atol=1e-3)


def test_bad_augmentation_settings_raise():
    with pytest.raises(ValueError, match="rotation must lie"):
        ImageAugmenter(rotation=200)
    with pytest.raises(ValueError, match="color_jitter"):
        ImageAugmenter(color_jitter=1.5)
    with pytest.raises(ValueError, match=r"\(N, C, H, W\)"):
        random_shift(torch.zeros(3, 8, 8), 1)
    with pytest.raises(ValueError, match="share of the image side"):
        shift_pixels(8, 0.7)


# -- learning --------------------------------------------------------------------


def test_learns_bars_and_ignores_the_pixel_range():
    X, y = bars(360, seed=0)
    est = ImageCNNClassifier(max_epochs=8, random_state=0, device="cpu").fit(X[:240], y[:240])
    assert est.score(X[240:], y[240:]) > 0.9
    proba = est.predict_proba(X[240:])
    assert proba.shape == (120, 3) and np.allclose(proba.sum(1), 1.0)
    assert est.input_shape_ == (1, 10, 10) and len(est.history_) == est.n_epochs_
    # (N, H, W) input works the same, and pixels scaled 0..1 learn the same model
    small = ImageCNNClassifier(max_epochs=8, random_state=0, device="cpu")
    small.fit(X[:240, 0] / 255.0, y[:240])
    agree = (small.predict(X[240:, 0] / 255.0) == est.predict(X[240:])).mean()
    assert agree > 0.95
    assert np.allclose(small.channel_mean_, np.asarray(est.channel_mean_) / 255.0)


def test_learns_an_image_regression():
    X, y, ctx = make_modality_data("image", "regression", n_rows=300, seed=0)
    est = SPEC.build({"max_epochs": 8}, ctx).fit(X[:220], y[:220])
    assert r2_score(y[220:], est.predict(X[220:])) > 0.6
    assert np.isfinite(est.target_mean_) and est.target_scale_ > 0


def test_bad_input_raises_clear_errors():
    X, y = bars(40, size=8)
    est = ImageCNNClassifier(max_epochs=1, device="cpu").fit(X, y)
    with pytest.raises(ValueError, match=r"fitted on \(1, 8, 8\); resize"):
        est.predict(np.zeros((2, 1, 9, 9)))
    with pytest.raises(ValueError, match="NaN or infinite"):
        est.predict(np.full((2, 1, 8, 8), np.nan))
    with pytest.raises(ValueError, match="one value per image"):
        ImageCNNClassifier().fit(X, y[:-1])
    with pytest.raises(ValueError, match=r"\(N, C, H, W\) or \(N, H, W\)"):
        ImageCNNClassifier().fit(X.reshape(40, -1), y)
    with pytest.raises(ValueError, match="base_channels must be a positive integer"):
        ImageCNNClassifier(base_channels=0).fit(X, y)
    with pytest.raises(ValueError, match="single class"):
        ImageCNNClassifier().fit(X, np.zeros(40))


def test_time_limit_cuts_the_epochs_to_what_fits():
    X, y = bars(600)
    timed = ImageCNNClassifier(max_epochs=3, batch_size=32, device="cpu").fit(X, y)
    epoch_seconds = np.median([h["seconds"] for h in timed.history_[1:]])
    limit = 6 * epoch_seconds  # room for about 5 of the 40 epochs asked for
    est = ImageCNNClassifier(max_epochs=40, batch_size=32, patience=None, time_limit=limit,
                             device="cpu").fit(X, y)
    assert 1 <= est.planned_epochs_ < 20  # a busy machine's epochs vary
    assert est.n_epochs_ <= est.planned_epochs_
    assert est.fit_seconds_ < 2 * limit + 1.0
    assert np.all(np.isfinite(est.predict_proba(X)))
    assert not hasattr(timed, "planned_epochs_")  # no limit: nothing planned


def test_time_limit_keeps_the_best_weights_so_far():
    X, y = bars(120)
    est = ImageCNNClassifier(max_epochs=10_000, patience=None, time_limit=0.5,
                             device="cpu").fit(X, y)
    assert est.stop_reason_ in ("time_limit", "max_epochs") and est.n_epochs_ < 10_000
    assert np.all(np.isfinite(est.predict_proba(X)))


def test_out_of_memory_is_a_clear_error(monkeypatch):
    X, y = bars(40, size=8)

    def no_memory(self, images):
        raise RuntimeError("CUDA out of memory. Tried to allocate 20.00 GiB")

    monkeypatch.setattr(ResidualCNN, "forward", no_memory)
    with pytest.raises(DeviceOutOfMemoryError, match="out of memory on cpu.*lower batch_size"):
        ImageCNNClassifier(max_epochs=1, device="cpu").fit(X, y)


# -- persistence -------------------------------------------------------------------


def test_clone_pickle_and_skops_round_trip(tmp_path):
    skops_io = pytest.importorskip("skops.io")
    from automl.persistence import refused_types

    X, y = bars(60, size=8)
    est = ImageCNNClassifier(max_epochs=2, base_channels=8, device="cpu").fit(X, y)
    assert not hasattr(clone(est), "weights_") and clone(est).get_params() == est.get_params()
    state = est.__getstate__()
    assert "_net" not in state
    assert all(isinstance(v, np.ndarray) for v in state["weights_"].values())
    again = pickle.loads(pickle.dumps(est))
    assert np.array_equal(again.predict_proba(X), est.predict_proba(X))
    path = tmp_path / "cnn.skops"
    skops_io.dump(est, path)
    untrusted = skops_io.get_untrusted_types(file=path)
    assert refused_types(untrusted) == []
    loaded = skops_io.load(path, trusted=untrusted)
    assert np.array_equal(loaded.predict_proba(X), est.predict_proba(X))


# -- end to end --------------------------------------------------------------------


def test_automl_searches_the_cnn_on_digit_images():
    from sklearn.datasets import load_digits

    from automl import AutoML

    digits = load_digits()
    images, y = digits.images[:100], digits.target[:100]  # (N, 8, 8), pixels 0..16
    model = AutoML(models=["cnn"], max_trials=2, time_budget=60, random_state=0,
                   verbose=0).fit(images, y)
    assert model.modality_ == "image"
    assert {r.model for r in model.trials_} == {"cnn"}
    test = digits.images[1500:1600]
    assert model.predict(test).shape == (100,)
    proba = model.predict_proba(test)
    assert proba.shape == (100, 10) and np.allclose(proba.sum(1), 1.0)
    assert model.score(test, digits.target[1500:1600]) > 0.6
