import numpy as np
import pandas as pd
import pytest

from automl.datafiles import read_features, read_training_data


def test_npz_images_and_target(tmp_path):
    path = tmp_path / "digits.npz"
    images = np.arange(5 * 8 * 8, dtype=np.uint8).reshape(5, 8, 8)
    np.savez(path, X=images, label=np.arange(5))
    X, y = read_training_data(path, "label")
    np.testing.assert_array_equal(X, images)
    np.testing.assert_array_equal(y, np.arange(5))
    np.testing.assert_array_equal(read_features(path), images)


def test_npz_variable_length_sequences_are_split_by_lengths(tmp_path):
    path = tmp_path / "seq.npz"
    rows = np.arange(12, dtype=np.float32).reshape(6, 2)
    np.savez(path, X=rows, lengths=np.array([1, 3, 2]), y=np.array([0.5, 1.0, 2.0]))
    X, y = read_training_data(path, "y")
    assert [s.shape for s in X] == [(1, 2), (3, 2), (2, 2)]
    np.testing.assert_array_equal(X[2], rows[4:])
    np.savez(path, X=rows, lengths=np.array([1, 3]), y=np.zeros(2))
    with pytest.raises(ValueError, match="lengths.*summing to the 6 rows"):
        read_training_data(path, "y")


def test_text_csv_reads_the_one_feature_column(tmp_path):
    path = tmp_path / "reviews.csv"
    pd.DataFrame({"review": ["good film", "bad plot"], "stars": [5, 1]}).to_csv(path,
                                                                                 index=False)
    X, y = read_training_data(path, "stars", modality="text")
    assert list(X) == ["good film", "bad plot"] and list(y) == [5, 1]
    assert list(read_features(tmp_path / "reviews.csv", "tabular").columns) == ["review",
                                                                                "stars"]
    with pytest.raises(ValueError, match=r"one column besides the target.*'review', 'stars'"):
        read_features(path, "text")


def test_bad_files_are_named_with_the_fix(tmp_path):
    with pytest.raises(FileNotFoundError, match="missing.csv does not exist"):
        read_training_data(tmp_path / "missing.csv", "y")
    (tmp_path / "data.parquet").write_bytes(b"x")
    with pytest.raises(ValueError, match="unknown data format '.parquet'"):
        read_training_data(tmp_path / "data.parquet", "y")
    np.savez(tmp_path / "a.npz", X=np.zeros((3, 4, 4)), y=np.zeros(3))
    with pytest.raises(ValueError, match=r"no target array 'label'.*\['X', 'y'\]"):
        read_training_data(tmp_path / "a.npz", "label")
    np.savez(tmp_path / "b.npz", features=np.zeros((3, 4, 4)), y=np.zeros(3))
    with pytest.raises(ValueError, match="no array named 'X'"):
        read_training_data(tmp_path / "b.npz", "y")
    ragged = np.empty(2, dtype=object)
    ragged[:] = [np.zeros((2, 1)), np.zeros((3, 1))]
    np.savez(tmp_path / "c.npz", X=ragged, y=np.zeros(2))
    with pytest.raises(ValueError, match="plain numeric arrays"):
        read_training_data(tmp_path / "c.npz", "y")
    np.save(tmp_path / "d.npy", np.zeros((2, 3, 3)))
    with pytest.raises(ValueError, match="features only"):
        read_training_data(tmp_path / "d.npy", "y")
