"""Data and helpers shared by the tests of the ``lstm`` and ``transformer`` specs."""

import dataclasses

import numpy as np

from automl.specs import Fidelity

FILLER = ("the a red green blue cat dog bird runs sleeps big small old new near far "
          "fast slow home").split()


def word_order_texts(n_rows, seed):
    """Texts holding "x" and "y" once each among filler words; the label is whether x comes first.

    Every text has the same bag of words as its mirror image, so a bag of
    words cannot do better than chance; a model must read the order.
    """
    rng = np.random.default_rng(seed)
    texts, labels = [], []
    for _ in range(n_rows):
        words = list(rng.choice(FILLER, size=rng.integers(2, 8)))
        first, second = sorted(rng.choice(len(words) + 2, size=2, replace=False))
        label = int(rng.integers(2))
        words.insert(first, "x" if label else "y")
        words.insert(second, "y" if label else "x")
        texts.append(" ".join(words))
        labels.append(label)
    return np.asarray(texts, dtype=object), np.asarray(labels)


def bag_of_words_accuracy(X, y, X_test, y_test):
    """Held-out accuracy of logistic regression on word counts."""
    from sklearn.feature_extraction.text import CountVectorizer
    from sklearn.linear_model import LogisticRegression

    counts = CountVectorizer(token_pattern=r"\w+").fit(X)
    model = LogisticRegression(max_iter=1000).fit(counts.transform(X), y)
    return model.score(counts.transform(X_test), y_test)


def fast_spec(spec, epochs=2):
    """The spec with few epochs for its defaults and a low fidelity floor (quick conformance)."""

    def build(config, ctx):
        return spec.build({"max_epochs": epochs, **config}, ctx)

    return dataclasses.replace(spec, build=build,
                               fidelity=Fidelity("max_epochs", epochs, spec.fidelity.high))


def padded_outputs_match(net, short, long):
    """Outputs of ``short`` alone and batched (padded) with the longer ``long``."""
    import torch

    from plugins.neural.sequence.batches import collate_padded

    net.eval()
    with torch.no_grad():
        alone = net(*collate_padded([(short,)]))
        together = net(*collate_padded([(short,), (long,)]))
    return alone[0], together[0]


def ragged_sequences(n_rows, n_features, seed, low=3, high=20):
    """Random float32 sequences of lengths ``low .. high - 1``."""
    rng = np.random.default_rng(seed)
    return [rng.standard_normal((int(t), n_features)).astype(np.float32)
            for t in rng.integers(low, high, size=n_rows)]
