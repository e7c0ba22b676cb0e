import numpy as np
import pytest

from automl.datasets import load_bank_marketing


@pytest.fixture(scope="module")
def bank():
    return load_bank_marketing()


def test_bank_marketing_shape_target_and_no_leak(bank):
    X, y = bank
    assert X.shape == (45211, 15)
    assert "duration" not in X.columns and "y" not in X.columns
    assert len(y) == len(X)
    assert set(y.unique()) == {"yes", "no"}
    assert 0.10 < (y == "yes").mean() < 0.13
    assert not X.isna().any().any()


def test_bank_marketing_blanking_is_seeded_and_near_fraction(bank):
    X, y = load_bank_marketing(blank_fraction=0.1, seed=3)
    assert X.shape == (45211, 15)
    assert set(y.unique()) == {"yes", "no"}
    fractions = X.isna().mean()
    assert np.allclose(fractions, 0.1, atol=0.005)
    again, _ = load_bank_marketing(blank_fraction=0.1, seed=3)
    assert X.isna().equals(again.isna())
    assert list(X.columns) == list(bank[0].columns)


def test_bank_marketing_rejects_bad_fraction():
    with pytest.raises(ValueError, match="blank_fraction"):
        load_bank_marketing(blank_fraction=1.5)
