import numpy as np
import pandas as pd
import pytest
from sklearn.base import BaseEstimator, ClassifierMixin
from sklearn.linear_model import LogisticRegression

from automl import AutoML
from automl.data import context_for
from automl.multimodal import MISSING_TEXT, MultimodalData, MultimodalSchema
from automl.specs import ModelSpec
from search import Float, Space


def _rows(n=60, seed=0):
    rng = np.random.default_rng(seed)
    y = rng.integers(0, 2, n)
    images = rng.random((n, 6, 6)).astype(np.float32) + y[:, None, None]
    texts = [("good " if label else "bad ") + "film" for label in y]
    table = pd.DataFrame({"age": rng.normal(size=n), "city": rng.choice(["a", "b"], n)})
    return {"image": images, "text": texts, "tabular": table}, y


def test_schema_validates_each_part_and_builds_part_contexts():
    X, _ = _rows()
    schema = MultimodalSchema.infer(X)
    assert [(n, s.modality) for n, s in schema.parts] == [("image", "image"),
                                                         ("text", "text"),
                                                         ("tabular", "tabular")]
    data = schema.transform(X)
    assert len(data) == 60 and data.parts["image"].shape == (60, 1, 6, 6)
    assert all(mask.all() for mask in data.present.values())
    ctx = context_for(schema, task="binary", n_rows=60, n_classes=2, seed=0, n_threads=1,
                      device="cpu")
    parts = dict(ctx.parts)
    assert ctx.modality == "multimodal" and parts["image"].input_shape == (1, 6, 6)
    assert parts["tabular"].numeric_columns == ("age",)
    assert parts["tabular"].categorical_columns == ("city",)
    sub = data.take(np.array([3, 1]))
    assert isinstance(sub, MultimodalData) and len(sub) == 2
    assert list(sub.parts["text"]) == [data.parts["text"][3], data.parts["text"][1]]


def test_missing_entries_are_filled_and_flagged():
    X, _ = _rows(n=10)
    X["text"][2] = None
    X["text"][4] = float("nan")
    images = X["image"].copy()
    images[5] = np.nan
    X["image"] = images
    data = MultimodalSchema.infer(X).transform(X)
    assert data.present["text"].tolist() == [i not in (2, 4) for i in range(10)]
    assert data.parts["text"][2] == MISSING_TEXT
    assert not data.present["image"][5] and data.present["image"].sum() == 9
    assert np.all(data.parts["image"][5] == 0)
    sequences = {"sensor": [np.ones((3, 2)), None, np.zeros((5, 2))], "note": ["a", "b", "c"]}
    data = MultimodalSchema.infer(sequences).transform(sequences)
    assert data.present["sensor"].tolist() == [True, False, True]
    assert data.parts["sensor"][1].shape == (1, 2)


def test_bad_multimodal_input_names_the_lengths_and_parts():
    X, _ = _rows(n=10)
    X["text"] = X["text"][:8]
    with pytest.raises(ValueError, match=r"different lengths: image 10, text 8, tabular 10"):
        MultimodalSchema.infer(X)
    X, _ = _rows(n=10)
    schema = MultimodalSchema.infer(X)
    with pytest.raises(ValueError, match=r"parts \['image', 'text'\].*fitted on"):
        schema.transform({"image": X["image"], "text": X["text"]})
    with pytest.raises(ValueError, match="no entries at all"):
        MultimodalSchema.infer({"text": [None, None], "tabular": X["tabular"][:2]})
    with pytest.raises(ValueError, match="non-empty dict"):
        MultimodalSchema.infer({})


class ImageAndTabular(ClassifierMixin, BaseEstimator):
    """Logistic regression on mean image brightness, the table's number and text presence."""

    def __init__(self, C=1.0):
        self.C = C

    def _features(self, X):
        return np.column_stack([X.parts["image"].mean(axis=(1, 2, 3)),
                                X.parts["tabular"]["age"].fillna(0).to_numpy(),
                                X.present["text"]])

    def fit(self, X, y):
        self.model_ = LogisticRegression(C=self.C).fit(self._features(X), y)
        self.classes_ = self.model_.classes_
        return self

    def predict(self, X):
        return self.model_.predict(self._features(X))

    def predict_proba(self, X):
        return self.model_.predict_proba(self._features(X))


FUSED = ModelSpec(name="toy_fusion", tasks={"classification"}, modalities={"multimodal"},
                  space=Space([Float("C", 0.1, 10.0, log=True)]),
                  build=lambda config, ctx: ImageAndTabular(C=config["C"]),
                  description="logistic regression on summaries of each part")


def test_automl_searches_multimodal_rows():
    X, y = _rows(n=80)
    train = {k: (v.iloc[:60] if isinstance(v, pd.DataFrame) else v[:60]) for k, v in X.items()}
    test = {k: (v.iloc[60:] if isinstance(v, pd.DataFrame) else v[60:]) for k, v in X.items()}
    model = AutoML(models=[FUSED], max_trials=3, time_budget=60, random_state=0)
    model.fit(train, y[:60])
    assert model.modality_ == "multimodal"
    assert model.score(test, y[60:]) > 0.9
    assert model.predict_proba(test).shape == (20, 2)


def test_predict_time_rows_may_all_lack_a_part():
    X, _ = _rows(n=10)
    schema = MultimodalSchema.infer(X)
    one = {"image": [None], "text": [None], "tabular": X["tabular"].iloc[:1]}
    data = schema.transform(one)
    assert not data.present["image"][0] and not data.present["text"][0]
    assert data.parts["image"].shape == (1, 1, 6, 6)
