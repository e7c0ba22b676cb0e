"""TF-IDF n-grams and a linear model: the non-neural baseline for texts.

Registers ``tfidf_linear`` (classification and regression): a scikit-learn
``Pipeline`` of a ``FeatureUnion`` of two TF-IDF vectorisers, word n-grams
``(1, word_ngram_max)`` and character n-grams within word boundaries
(``char_wb``, ``(2, char_ngram_max)``), feeding ``LogisticRegression``
(classification) or ``Ridge`` (regression).

One parameter, ``l2_penalty`` (lambda), sets the strength of the L2 penalty of
either model: ``C = 1 / lambda`` for logistic regression, ``alpha = lambda``
for ridge. Both losses are sums over rows, so lambda plays the same role.

Word tokens are runs of word characters, single letters included, and single
punctuation marks ("!" and "?" carry meaning in reviews), so every non-blank
text has tokens. When ``min_df`` would prune every term (tiny corpora), the
vectoriser falls back to ``min_df=1`` (:class:`TolerantTfidfVectorizer`).

The space follows the usual text-classification baselines (Wang & Manning
2012; scikit-learn's text tutorials): n-gram ranges, document-frequency cut,
sublinear term frequency, vocabulary size and the penalty on a log scale.

References
----------
.. [Wang2012] S. Wang, C. D. Manning. "Baselines and Bigrams: Simple, Good
   Sentiment and Topic Classification". ACL 2012.

"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from sklearn.feature_extraction.text import TfidfVectorizer
from sklearn.pipeline import FeatureUnion, Pipeline

from automl.preprocessing import ThreadLimited
from automl.specs import Context, ModelSpec
from plugins._hooks import register_hook
from search import Categorical, Float, Int, Space

__all__ = [
    "TFIDF_DEFAULTS",
    "TFIDF_SPACE",
    "TOKEN_PATTERN",
    "TolerantTfidfVectorizer",
    "automl_register_models",
    "model_specs",
]

TOKEN_PATTERN = r"(?u)\b\w+\b|[^\w\s]"
"""Word tokens: runs of word characters (single letters too) or one punctuation mark."""

TFIDF_SPACE = Space([
    Int("word_ngram_max", 1, 3),
    Int("char_ngram_max", 3, 6),
    Int("min_df", 1, 10, log=True),
    Categorical("sublinear_tf", [True, False]),
    Int("max_features", 10_000, 500_000, log=True),
    Float("l2_penalty", 1e-4, 1e2, log=True),
])
TFIDF_DEFAULTS = (
    # word uni+bigrams with char 2-5-grams, sublinear tf, mild penalty (C = 10)
    {"word_ngram_max": 2, "char_ngram_max": 5, "min_df": 2, "sublinear_tf": True,
     "max_features": 200_000, "l2_penalty": 0.1},
    # a smaller, more regularised model: unigrams, char 2-4-grams, C = 1
    {"word_ngram_max": 1, "char_ngram_max": 4, "min_df": 1, "sublinear_tf": False,
     "max_features": 50_000, "l2_penalty": 1.0},
    # wide n-grams, weakly regularised (C = 100): long texts with many phrases
    {"word_ngram_max": 3, "char_ngram_max": 6, "min_df": 3, "sublinear_tf": True,
     "max_features": 500_000, "l2_penalty": 0.01},
)


_PRUNED_EVERYTHING = ("no terms remain", "max_df corresponds to < documents than min_df")
"""Messages of scikit-learn's errors for document-frequency bounds that keep no term."""


class TolerantTfidfVectorizer(TfidfVectorizer):
    """``TfidfVectorizer`` that refits with ``min_df=1`` when pruning leaves no term.

    A document-frequency cut that suits a corpus can remove every term of a
    small one (a cross-validation fold of a few dozen texts, say); scikit-learn
    then raises. This subclass refits once with ``min_df=1`` and ``max_df=1.0``
    instead, and records the values used. Its parameters are those of
    ``TfidfVectorizer``.

    Attributes
    ----------
    min_df_used_, max_df_used_ : int or float
        The document-frequency bounds of the fitted vocabulary.

    """

    def _fit_with_fallback(self, method: Any, raw_documents: Any) -> Any:
        self.min_df_used_, self.max_df_used_ = self.min_df, self.max_df
        try:
            return method(raw_documents)
        except ValueError as exc:
            pruned_all = any(message in str(exc) for message in _PRUNED_EVERYTHING)
            if not pruned_all or (self.min_df, self.max_df) == (1, 1.0):
                raise
        min_df, max_df = self.min_df, self.max_df
        self.min_df, self.max_df = 1, 1.0
        try:
            result = method(raw_documents)
        finally:
            self.min_df, self.max_df = min_df, max_df
        self.min_df_used_, self.max_df_used_ = 1, 1.0
        return result

    def fit(self, raw_documents: Any, y: Any = None) -> TolerantTfidfVectorizer:
        """Learn the vocabulary and idf, relaxing ``min_df`` if it prunes every term.

        Parameters
        ----------
        raw_documents : iterable of str
            Training texts.
        y : ignored
            Present for the scikit-learn API.

        Returns
        -------
        TolerantTfidfVectorizer
            This fitted vectoriser.

        """
        self._fit_with_fallback(super().fit, raw_documents)
        return self

    def fit_transform(self, raw_documents: Any, y: Any = None) -> Any:
        """Learn the vocabulary and idf, then return the TF-IDF matrix.

        Parameters
        ----------
        raw_documents : iterable of str
            Training texts.
        y : ignored
            Present for the scikit-learn API.

        Returns
        -------
        scipy.sparse matrix of shape (n_texts, n_terms)
            TF-IDF weights of the training texts.

        """
        return self._fit_with_fallback(super().fit_transform, raw_documents)


def _vectorizers(params: Mapping[str, Any]) -> FeatureUnion:
    shared = {"min_df": int(params["min_df"]), "sublinear_tf": bool(params["sublinear_tf"]),
              "max_features": int(params["max_features"]), "lowercase": True}
    words = TolerantTfidfVectorizer(analyzer="word", token_pattern=TOKEN_PATTERN,
                                    ngram_range=(1, int(params["word_ngram_max"])), **shared)
    chars = TolerantTfidfVectorizer(analyzer="char_wb",
                                    ngram_range=(2, int(params["char_ngram_max"])), **shared)
    return FeatureUnion([("words", words), ("chars", chars)])


def _build_tfidf_linear(config: Mapping[str, Any], ctx: Context) -> ThreadLimited:
    from sklearn.linear_model import LogisticRegression, Ridge

    params = {**TFIDF_DEFAULTS[0], **dict(config)}
    penalty = float(params["l2_penalty"])
    if ctx.is_classification:
        model: Any = LogisticRegression(C=1.0 / penalty, solver="lbfgs", max_iter=1000,
                                        random_state=ctx.seed)
    else:
        model = Ridge(alpha=penalty, random_state=ctx.seed)
    pipeline = Pipeline([("features", _vectorizers(params)), ("model", model)])
    # Sparse products run on one thread; more would only wake idle BLAS pools.
    return ThreadLimited(pipeline, n_threads=1)


def model_specs() -> list[ModelSpec]:
    """Return the text model specs (what the hook registers).

    Returns
    -------
    list of ModelSpec
        ``tfidf_linear``.

    """
    return [ModelSpec(
        name="tfidf_linear",
        tasks={"classification", "regression"},
        modalities={"text"},
        space=TFIDF_SPACE,
        build=_build_tfidf_linear,
        defaults=TFIDF_DEFAULTS,
        description="TF-IDF word and character n-grams with logistic regression "
                    "(classification) or ridge (regression)",
    )]


automl_register_models = register_hook(model_specs, "text model specs")
