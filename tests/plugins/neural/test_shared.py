"""What the neural families share: the training package's import point, the
training hyperparameters (space, arguments, settings, docs) and the renames
that keep model files saved before the package move loading."""

import importlib
import inspect
import io
import json
import subprocess
import sys
import zipfile

import pytest

from automl import persistence
from plugins.neural._training import (
    MIN_BATCH_ROWS,
    document_training,
    l1_space,
    optimizer_space,
    train_settings,
    training_kwargs,
)
from plugins.neural.cnn import ImageCNNClassifier
from plugins.neural.fusion import FusionClassifier
from plugins.neural.gan import TabularGAN
from plugins.neural.lstm import RecurrentSequenceClassifier
from plugins.neural.mlp import TabularMLPClassifier
from plugins.neural.ncf import HybridMF, NeuMF
from plugins.neural.transfer import TransferCNNClassifier
from plugins.neural.transformer import TransformerSequenceClassifier

ESTIMATORS = [TabularMLPClassifier, ImageCNNClassifier, TransferCNNClassifier,
              RecurrentSequenceClassifier, TransformerSequenceClassifier, FusionClassifier,
              NeuMF, HybridMF, TabularGAN]


def test_the_training_package_loads_torch_only_for_the_parts_that_need_it():
    code = ("import sys, plugins.neural._training as t; "
            "t.optimizer_space(learning_rate=(1e-3, 1e-2), weight_decay=(1e-6, 1e-2)); "
            "t.document_training; t.training_kwargs; "
            "assert 'torch' not in sys.modules, 'torch imported'; "
            "t.train_network; assert 'torch' in sys.modules; "
            "assert all(getattr(t, n) is not None for n in t.__all__)")
    subprocess.run([sys.executable, "-c", code], check=True)
    training = importlib.import_module("plugins.neural._training")
    with pytest.raises(AttributeError, match="no attribute 'nothing'"):
        training.nothing  # noqa: B018


def test_optimizer_space_keeps_its_order_and_leaves_out_what_is_not_given():
    names = [p.name for p in optimizer_space(
        learning_rate=(1e-4, 1e-2), weight_decay=(1e-6, 1e-1), batch_size=[32, 64],
        l1=(1e-7, 1e-4), schedule=["cosine", "onecycle"])]
    assert names == ["learning_rate", "weight_decay", "batch_size", "use_l1", "l1", "schedule"]
    assert [p.name for p in optimizer_space(learning_rate=(1e-4, 1e-2),
                                            weight_decay=(1e-6, 1e-1))] == \
        ["learning_rate", "weight_decay"]
    use_l1, l1 = l1_space(1e-7, 1e-4)
    assert (use_l1.name, l1.name, l1.low, l1.high, l1.log) == ("use_l1", "l1", 1e-7, 1e-4, True)


def test_training_kwargs_hold_the_knobs_the_configuration_has():
    full = {"learning_rate": 1e-3, "weight_decay": 1e-4, "batch_size": 64, "use_l1": True,
            "l1": 1e-5, "schedule": "onecycle", "max_epochs": 7.4}
    assert training_kwargs(full, 50) == {"learning_rate": 1e-3, "weight_decay": 1e-4,
                                         "batch_size": 64, "l1": 1e-5,
                                         "schedule": "onecycle", "max_epochs": 7}
    assert training_kwargs({**full, "use_l1": False}, 50)["l1"] == 0.0
    assert training_kwargs({"learning_rate": 1e-3, "weight_decay": 0.0}, 50) == \
        {"learning_rate": 1e-3, "weight_decay": 0.0, "max_epochs": 50}


def test_train_settings_take_the_estimators_parameters_and_the_changes():
    params = TabularMLPClassifier(learning_rate=3e-3, l1=1e-4, grad_clip=None, patience=None,
                                  schedule="onecycle", batch_size=512,
                                  n_threads=2).get_params()
    settings = train_settings(params, n_rows=800, seed=5, validation_fraction=0.0)
    assert (settings.learning_rate, settings.l1, settings.grad_clip, settings.patience) == \
        (3e-3, 1e-4, None, None)
    assert (settings.schedule, settings.n_threads, settings.seed) == ("onecycle", 2, 5)
    assert settings.batch_size == 100 and settings.validation_fraction == 0.0
    small = train_settings(params, n_rows=40, seed=0)
    assert small.batch_size == MIN_BATCH_ROWS
    # a parameter the estimator lacks keeps the TrainSettings default
    assert train_settings(FusionClassifier().get_params(), n_rows=100, seed=0).l1 == 0.0


def documented(cls):
    """Names the ``Parameters`` section of a numpydoc docstring describes."""
    text = inspect.cleandoc(cls.__doc__)
    section = text.split("Parameters\n----------\n", 1)[1].split("\n\n", 1)[0]
    names = set()
    for line in section.splitlines():
        if line and not line.startswith(" "):
            names.update(n.strip() for n in line.split(" : ", 1)[0].split(","))
    return names


@pytest.mark.parametrize("cls", ESTIMATORS, ids=lambda c: c.__name__)
def test_every_estimator_documents_each_of_its_parameters_once(cls):
    parameters = set(inspect.signature(cls.__init__).parameters) - {"self"}
    assert documented(cls) == parameters
    text = inspect.cleandoc(cls.__doc__)
    assert "{training parameters}" not in text and "{fitted attributes}" not in text
    for name in parameters:
        assert sum(line.startswith(f"{name} : ") for line in text.splitlines()) <= 1, name


def test_document_training_fills_the_markers_and_keeps_a_class_wording():
    class Model:
        """A model.

        Parameters
        ----------
        width : int, default=3
            Units.
        learning_rate : float, default=0.5
            A wording of its own.
        {training parameters}

        Attributes
        ----------
        {fitted attributes}
        """

        def __init__(self, width=3, learning_rate=0.5, weight_decay=1e-4, device="auto",
                     time_limit=None, unknown=1):
            pass

    document_training(Model)
    lines = inspect.cleandoc(Model.__doc__).splitlines()
    assert "learning_rate : float, default=0.5" in lines
    assert "A wording of its own." in " ".join(lines)
    assert "weight_decay : float, default=1e-4" in lines
    assert 'device : {"auto", "cpu", "cuda", "cuda:N"}, default="auto"' in lines
    assert "time_limit : float, optional" in lines
    assert not any(line.startswith("unknown") for line in lines)
    assert "weights_ : dict of str to ndarray" in lines

    class NoMarker:
        """Nothing to fill."""

    with pytest.raises(ValueError, match="no '{training parameters}' line"):
        document_training(NoMarker)


PLUGIN_MOVES = {old: new for old, new in persistence.MOVED_TYPES.items()
                if old.startswith("plugins.")}


def resolve(name):
    module, _, attr = name.rpartition(".")
    return getattr(importlib.import_module(module), attr)


@pytest.mark.parametrize("old", sorted(PLUGIN_MOVES))
def test_a_moved_type_names_a_class_that_exists_and_its_old_module_is_gone(old):
    assert isinstance(resolve(PLUGIN_MOVES[old]), type)
    module = old.rpartition(".")[0]
    if module not in ("plugins.neural.lstm", "plugins.neural.transformer",
                      "plugins.neural.fusion"):  # these stayed as packages
        with pytest.raises(ModuleNotFoundError, match=f"No module named '{module}'"):
            importlib.import_module(module)


def instance(cls):
    """An unfitted instance of a moved class (a few need arguments)."""
    needs = {"PartInputs": ("image",), "TorchScriptBackbone": (b"archive",)}
    return cls(*needs.get(cls.__name__, ()))


def test_a_file_saved_under_the_old_names_loads_as_the_new_classes():
    sio = pytest.importorskip("skops.io")
    objects = [instance(resolve(new)) for new in sorted(set(PLUGIN_MOVES.values()))]
    data = sio.dumps(objects)
    # write the file as the code before the move did: every class under its old name
    source = zipfile.ZipFile(io.BytesIO(data))
    schema = json.loads(source.read("schema.json"))
    back = {new: old for old, new in PLUGIN_MOVES.items()}

    def rename(node):
        if isinstance(node, dict):
            name = f"{node.get('__module__')}.{node.get('__class__')}"
            if name in back:
                node["__module__"], _, node["__class__"] = back[name].rpartition(".")
            for value in node.values():
                rename(value)
        elif isinstance(node, list):
            for value in node:
                rename(value)

    rename(schema)
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w") as target:
        for item in source.infolist():
            target.writestr(item, json.dumps(schema) if item.filename == "schema.json"
                            else source.read(item.filename))
    old_file = out.getvalue()
    assert set(PLUGIN_MOVES) <= set(sio.get_untrusted_types(data=old_file))
    migrated = persistence._migrate(old_file)
    found = sio.get_untrusted_types(data=migrated)
    assert not set(PLUGIN_MOVES) & set(found)
    loaded = sio.loads(migrated, trusted=found)
    assert [type(o) for o in loaded] == [type(o) for o in objects]
    backbone = "plugins.neural.transfer.backbone.TorchScriptBackbone"
    assert persistence.refused_types([backbone]) == [backbone]
