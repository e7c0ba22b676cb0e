import numpy as np
import pandas as pd
import pytest

from automl.tasks.recommendation import InteractionSchema, check_ratings


def _frame():
    return pd.DataFrame({"customer_id": ["u1", "u2", "u1", "u3"],
                         "movie": [10, 20, 20, 30],
                         "age": [30.0, 41.0, 30.0, np.nan],
                         "genre": ["drama", "comedy", "comedy", None]})


def test_schema_finds_id_columns_codes_them_and_keeps_side_features():
    schema = InteractionSchema.infer(_frame())
    assert (schema.user_column, schema.item_column) == ("customer_id", "movie")
    assert schema.users == ("u1", "u2", "u3") and schema.items == (10, 20, 30)
    assert schema.input_shape == (2,)
    out = schema.transform(_frame())
    assert list(out.columns) == ["user", "item", "age", "genre"]
    assert out["user"].tolist() == [0, 1, 0, 2] and out["item"].tolist() == [0, 1, 1, 2]
    assert out["user"].dtype == np.int64 and out["genre"].dtype == object


def test_unseen_ids_become_minus_one():
    schema = InteractionSchema.infer(_frame())
    new = pd.DataFrame({"customer_id": ["u9", "u2"], "movie": [20, 99], "age": [1.0, 2.0],
                        "genre": ["drama", "horror"]})
    out = schema.transform(new)
    assert out["user"].tolist() == [-1, 1] and out["item"].tolist() == [1, -1]


def test_named_columns_and_clear_errors():
    frame = _frame().rename(columns={"customer_id": "who", "movie": "what"})
    with pytest.raises(ValueError, match=r"no user column.*user_column=.*'who'"):
        InteractionSchema.infer(frame)
    schema = InteractionSchema.infer(frame, user_column="who", item_column="what")
    assert schema.n_users == 3 and schema.n_items == 3
    with pytest.raises(ValueError, match="item_column='nope' is not a column"):
        InteractionSchema.infer(frame, user_column="who", item_column="nope")
    with pytest.raises(ValueError, match="lacks the id columns"):
        schema.transform(frame.drop(columns=["what"]))
    broken = frame.copy()
    broken.loc[1, "who"] = None
    with pytest.raises(ValueError, match="1 missing user ids"):
        InteractionSchema.infer(broken, user_column="who", item_column="what")
    with pytest.raises(ValueError, match="DataFrame"):
        InteractionSchema.infer(np.zeros((3, 2)))


def test_conflicting_ratings_are_reported_and_equal_duplicates_pass():
    frame = pd.DataFrame({"user": ["a", "a", "b", "a"], "item": ["x", "x", "y", "z"]})
    schema = InteractionSchema.infer(frame)
    X = schema.transform(frame)
    check_ratings(X, np.array([4.0, 4.0, 3.0, 1.0]), schema)
    with pytest.raises(ValueError, match=r"1 user-item pairs .*user 'a' and item 'x'"):
        check_ratings(X, np.array([4.0, 5.0, 3.0, 1.0]), schema)
