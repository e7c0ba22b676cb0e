import json
import math
import pickle

import numpy as np
import pytest

from search import Categorical, Float, Int, Space
from search.space import Parameter, config_key
from search.testing import mixed_space


def conditional_space():
    return Space([
        Categorical("model", ["svm", "tree", "dummy"]),
        Float("C", 1e-3, 1e3, log=True, when={"model": "svm"}),
        Categorical("kernel", ["rbf", "linear"], when={"model": "svm"}),
        Float("gamma", 1e-4, 1.0, log=True, when={"kernel": "rbf"}),
        Int("depth", 1, 10, when={"model": ["tree"]}),
        Float("lr", 0.0, 1.0),
    ])


# --- parameter construction errors -------------------------------------------------------


@pytest.mark.parametrize("cls", [Float, Int])
def test_numeric_low_must_be_below_high(cls):
    with pytest.raises(ValueError, match=r"'x': low \(3.*\) must be smaller than high"):
        cls("x", 3, 1)
    with pytest.raises(ValueError, match="must be smaller than high"):
        cls("x", 2, 2)


@pytest.mark.parametrize("cls", [Float, Int])
def test_numeric_log_needs_positive_low(cls):
    with pytest.raises(ValueError, match=r"'x': log=True needs low > 0"):
        cls("x", 0, 10, log=True)
    with pytest.raises(ValueError, match="log=True needs low > 0"):
        cls("x", -1, 10, log=True)


@pytest.mark.parametrize("name", ["", "   ", None, 3])
@pytest.mark.parametrize("make", [
    lambda n: Float(n, 0, 1), lambda n: Int(n, 0, 1), lambda n: Categorical(n, ["a"]),
])
def test_name_must_be_a_non_empty_string(make, name):
    with pytest.raises(ValueError, match="name must be a non-empty string"):
        make(name)


def test_bounds_must_be_numbers():
    with pytest.raises(ValueError, match="'x': low must be a number"):
        Float("x", "0", 1)
    with pytest.raises(ValueError, match="'x': high must be finite"):
        Float("x", 0, math.inf)
    with pytest.raises(ValueError, match="'n': high must be an integer"):
        Int("n", 0, 2.5)
    assert Int("n", 0.0, 3.0).high == 3 and isinstance(Int("n", 0.0, 3.0).high, int)


def test_categorical_choice_errors():
    with pytest.raises(ValueError, match="'c': choices is empty"):
        Categorical("c", [])
    with pytest.raises(ValueError, match="'c': duplicate choice 'a'"):
        Categorical("c", ["a", "b", "a"])
    with pytest.raises(ValueError, match="duplicate choice 1.0"):
        Categorical("c", [1, 1.0])
    with pytest.raises(ValueError, match="choices must be a list"):
        Categorical("c", "abc")
    with pytest.raises(ValueError, match=r"choice \[1\] is not allowed"):
        Categorical("c", [[1]])
    with pytest.raises(ValueError, match="not allowed"):
        Categorical("c", [float("nan")])
    # True and 1 are different choices
    assert Categorical("c", [1, True, None, "1", 2.5]).choices == (1, True, None, "1", 2.5)


def test_when_errors():
    with pytest.raises(ValueError, match="'x': when must be a dict"):
        Float("x", 0, 1, when="model")
    with pytest.raises(ValueError, match=r"when\['model'\] is an empty collection"):
        Float("x", 0, 1, when={"model": []})
    with pytest.raises(ValueError, match="cannot depend on itself"):
        Float("x", 0, 1, when={"x": "a"})
    with pytest.raises(ValueError, match="allowed values must be str"):
        Float("x", 0, 1, when={"model": [["a"]]})


# --- parameter behaviour ------------------------------------------------------------------


def test_float_validate_and_errors():
    p = Float("x", -1, 1)
    assert p.validate(np.float32(0.5)) == 0.5 and type(p.validate(1)) is float
    with pytest.raises(ValueError, match=r"Float 'x': 2 is outside \[-1.0, 1.0\]"):
        p.validate(2)
    with pytest.raises(ValueError, match="'x': expected a number"):
        p.validate("0.5")
    with pytest.raises(ValueError, match="expected a number"):
        p.validate(True)
    with pytest.raises(ValueError, match="got NaN"):
        p.validate(float("nan"))


def test_int_validate_and_errors():
    p = Int("n", 1, 10)
    assert p.validate(np.int64(3)) == 3 and type(p.validate(np.int64(3))) is int
    assert p.validate(4.0) == 4 and type(p.validate(4.0)) is int
    with pytest.raises(ValueError, match=r"Int 'n': 11 is outside \[1, 10\]"):
        p.validate(11)
    with pytest.raises(ValueError, match=r"'n': expected an integer in \[1, 10\], got 2.5"):
        p.validate(2.5)


def test_categorical_validate_and_errors():
    p = Categorical("c", ["a", 1, None, False])
    assert p.validate(1.0) == 1 and type(p.validate(1.0)) is int
    assert p.validate(None) is None and p.validate(False) is False
    with pytest.raises(ValueError, match=r"'c': 'b' is not a choice; choices are \['a', 1"):
        p.validate("b")
    with pytest.raises(ValueError, match="True is not a choice"):
        p.validate(True)
    with pytest.raises(ValueError, match="not a choice"):
        p.validate([1])


def test_float_encode_decode():
    p = Float("x", 2.0, 6.0)
    assert p.encode(2.0) == 0.0 and p.encode(6.0) == 1.0 and p.encode(3.0) == 0.25
    assert p.decode(0.25) == 3.0 and p.decode(-1) == 2.0 and p.decode(7) == 6.0
    lg = Float("lr", 1e-4, 1.0, log=True)
    assert lg.encode(1e-2) == pytest.approx(0.5)
    assert lg.decode(0.75) == pytest.approx(1e-1)
    for v in (1e-4, 3.3e-3, 0.5, 1.0):
        assert lg.decode(lg.encode(v)) == pytest.approx(v, rel=1e-12)
    with pytest.raises(ValueError, match="NaN"):
        p.decode(float("nan"))


def test_int_encode_decode_uses_equal_bins():
    p = Int("n", 0, 4)
    assert p.encode(0) == pytest.approx(0.1) and p.encode(4) == pytest.approx(0.9)
    assert [p.decode(u) for u in (0.0, 0.19, 0.21, 0.5, 0.99, 1.0)] == [0, 0, 1, 2, 4, 4]
    assert all(type(p.decode(u)) is int for u in (0.0, 0.3, 1.0))
    # each integer owns an equal share of [0, 1]
    counts = np.bincount([p.decode(u) for u in np.linspace(0, 1, 10_001)])
    assert counts.min() > 0.19 * 10_001
    lg = Int("k", 1, 1000, log=True)
    for v in (1, 2, 3, 17, 999, 1000):
        assert lg.decode(lg.encode(v)) == v


def test_categorical_encode_decode():
    p = Categorical("c", ["a", "b", "c", "d"])
    assert [p.encode(c) for c in "abcd"] == [0.125, 0.375, 0.625, 0.875]
    assert [p.decode(u) for u in (0.0, 0.249, 0.25, 0.99, 1.0, 5.0)] == list("aabddd")


def test_sampling_stays_in_range_and_log_scale_is_log_uniform():
    rng = np.random.default_rng(0)
    lg = Float("x", 1e-6, 1.0, log=True)
    xs = np.array([lg.sample(rng) for _ in range(4000)])
    assert xs.min() >= 1e-6 and xs.max() <= 1.0
    # log-uniform: about half of the draws fall below 1e-3
    assert 0.45 < np.mean(xs < 1e-3) < 0.55
    n = Int("n", 3, 7)
    ns = {n.sample(rng) for _ in range(300)}
    assert ns == {3, 4, 5, 6, 7}
    c = Categorical("c", ["a", None, 2])
    assert {c.sample(rng) for _ in range(300)} == {"a", None, 2}


def test_parameter_grids():
    assert Float("x", 0, 1).grid(5) == [0.0, 0.25, 0.5, 0.75, 1.0]
    assert Float("x", 1e-3, 1e1, log=True).grid(5) == pytest.approx([1e-3, 1e-2, 1e-1, 1, 10])
    g = Float("x", 1e-3, 1e1, log=True).grid(5)
    assert g[0] == 1e-3 and g[-1] == 10.0
    assert Float("x", 0, 1).grid(1) == [0.5]
    assert Int("n", 1, 4).grid(5) == [1, 2, 3, 4]
    assert Int("n", 0, 100).grid(5) == [0, 25, 50, 75, 100]
    assert Int("n", 1, 1000, log=True).grid(4) == [1, 10, 100, 1000]
    assert Int("n", 1, 6).grid(5) == [1, 2, 4, 5, 6]  # rounded 1, 2.25, 3.5, 4.75, 6
    assert Int("n", 1, 5, log=True).grid(4) == [1, 2, 3, 5]  # deduplicated
    assert Categorical("c", ["a", "b"]).grid(1) == ["a", "b"]
    with pytest.raises(ValueError, match="resolution must be an integer >= 1"):
        Float("x", 0, 1).grid(0)


def test_parameters_are_immutable_hashable_picklable_and_comparable():
    p = Float("C", 1e-3, 1e3, log=True, when={"model": ["svm", "lr"]})
    with pytest.raises(AttributeError, match="immutable"):
        p.low = 0
    assert p == Float("C", 0.001, 1000, log=True, when={"model": ("lr", "svm")})
    assert p != Float("C", 1e-3, 1e3, when={"model": ["svm", "lr"]})
    assert p != Int("C", 1, 1000)
    assert len({p, Float("C", 1e-3, 1e3, log=True, when={"model": {"svm", "lr"}})}) == 1
    for q in (p, Int("n", 1, 9, log=True), Categorical("c", [None, True, 1.5, "x"])):
        clone = pickle.loads(pickle.dumps(q))
        assert clone == q and repr(clone) == repr(q)
        assert isinstance(clone, Parameter)
    assert repr(p) == "Float('C', 0.001, 1000.0, log=True, when={'model': ['svm', 'lr']})"
    assert repr(Categorical("k", ["a"], when={"m": 1})) == "Categorical('k', ['a'], when={'m': 1})"
    assert p.when == {"model": ("svm", "lr")} and p.parents == ("model",)
    assert p.replace(name="svm:C").name == "svm:C"
    with pytest.raises(ValueError, match="unknown arguments"):
        p.replace(nmae="x")


# --- space construction --------------------------------------------------------------------


def test_space_construction_errors():
    with pytest.raises(ValueError, match="duplicate parameter name 'x'"):
        Space([Float("x", 0, 1), Int("x", 0, 3)])
    with pytest.raises(ValueError, match=r"'C': when refers to unknown parent 'model'"):
        Space([Float("C", 1, 2, when={"model": "svm"})])
    with pytest.raises(ValueError, match=r"parent 'n' is a Int; conditions need a Categorical"):
        Space([Int("n", 0, 3), Float("C", 1, 2, when={"n": 1})])
    with pytest.raises(ValueError, match=r"allows 'svn', which is not a choice of 'model'"):
        Space([Categorical("model", ["svm"]), Float("C", 1, 2, when={"model": "svn"})])
    with pytest.raises(ValueError, match=r"cyclic conditions among parameters \['a', 'b'\]"):
        Space([
            Categorical("a", ["x"], when={"b": "y"}),
            Categorical("b", ["y"], when={"a": "x"}),
        ])
    with pytest.raises(TypeError, match="Space takes Float, Int or Categorical"):
        Space(["x"])


def test_space_orders_parents_first_stably():
    space = Space([
        Float("gamma", 0, 1, when={"kernel": "rbf"}),
        Float("lr", 0, 1),
        Categorical("kernel", ["rbf", "lin"], when={"model": "svm"}),
        Categorical("model", ["svm", "tree"]),
    ])
    assert space.names == ("lr", "model", "kernel", "gamma")


def test_space_container_protocol():
    space = conditional_space()
    assert len(space) == 6 and len(Space()) == 0
    assert [p.name for p in space] == list(space.names)
    assert space.params[0] is space["model"]
    assert "C" in space and "nope" not in space and 3 not in space
    with pytest.raises(KeyError, match="no parameter 'nope'"):
        space["nope"]
    assert space == conditional_space() and space != Space()
    assert hash(space) == hash(conditional_space())
    assert pickle.loads(pickle.dumps(space)) == space
    assert repr(Space()) == "Space()"
    assert "Float('C', 0.001, 1000.0, log=True, when={'model': 'svm'})" in repr(space)
    with pytest.raises(AttributeError, match="immutable"):
        space.params = ()


def test_is_active_follows_parents():
    space = conditional_space()
    assert space.is_active("gamma", {"model": "svm", "kernel": "rbf"})
    assert not space.is_active("gamma", {"model": "svm", "kernel": "linear"})
    # the parent kernel is inactive (model=tree), so gamma is too, whatever kernel says
    assert not space.is_active("gamma", {"model": "tree", "kernel": "rbf"})
    assert not space.is_active("C", {})
    assert space.is_active("lr", {})
    with pytest.raises(KeyError, match="no parameter 'nope'; known: "):
        space.is_active("nope", {})


def test_and_of_several_conditions():
    space = Space([
        Categorical("a", [1, 2]),
        Categorical("b", ["x", "y"]),
        Float("z", 0, 1, when={"a": 1, "b": ["x"]}),
    ])
    assert space.is_active("z", {"a": 1, "b": "x"})
    assert not space.is_active("z", {"a": 1, "b": "y"})
    assert not space.is_active("z", {"a": 2, "b": "x"})
    assert space.grid_size(3) == 3 + 3


# --- sampling, validation, codes -----------------------------------------------------------


def test_sample_holds_active_params_only():
    space = conditional_space()
    rng = np.random.default_rng(1)
    models = set()
    for _ in range(200):
        config = space.sample(rng)
        assert space.validate(config) == config
        models.add(config["model"])
        assert ("C" in config) == (config["model"] == "svm")
        assert ("gamma" in config) == (config.get("kernel") == "rbf")
    assert models == {"svm", "tree", "dummy"}
    assert space.sample(5) == space.sample(np.random.default_rng(5))


def test_validate_errors_name_the_problem():
    space = conditional_space()
    with pytest.raises(ValueError, match=r"unknown parameter\(s\) \['cc'\].*known parameters"):
        space.validate({"model": "tree", "depth": 3, "lr": 0.1, "cc": 1})
    with pytest.raises(ValueError, match=r"missing value for active parameter 'depth'"):
        space.validate({"model": "tree", "lr": 0.1})
    with pytest.raises(ValueError, match=r"'C' is inactive.*active only when \{'model': 'svm'\}"):
        space.validate({"model": "tree", "depth": 3, "lr": 0.1, "C": 1.0})
    with pytest.raises(ValueError, match=r"Int 'depth': 11 is outside \[1, 10\]"):
        space.validate({"model": "tree", "depth": 11, "lr": 0.1})
    with pytest.raises(ValueError, match="'model': 'knn' is not a choice"):
        space.validate({"model": "knn", "lr": 0.1})
    with pytest.raises(ValueError, match="must be a dict"):
        space.validate([("model", "tree")])


def test_validate_normalizes_types_and_order():
    space = conditional_space()
    out = space.validate({"lr": 1, "depth": np.int32(2), "model": "tree"})
    assert out == {"model": "tree", "depth": 2, "lr": 1.0}
    assert list(out) == ["model", "depth", "lr"]
    assert type(out["depth"]) is int and type(out["lr"]) is float


def test_encode_decode_round_trip():
    space = mixed_space()
    rng = np.random.default_rng(0)
    for _ in range(300):
        config = space.sample(rng)
        u = space.encode(config)
        assert u.shape == (len(space),) and u.dtype == float
        assert np.all((u >= 0) & (u <= 1))
        back = space.decode(u)
        assert back.keys() == config.keys()
        for name, value in config.items():
            if isinstance(space[name], Float):
                assert back[name] == pytest.approx(value, rel=1e-12, abs=1e-12)
            else:
                assert back[name] == value and type(back[name]) is type(value)


def test_encode_gives_inactive_params_the_fixed_code():
    space = conditional_space()
    u = space.encode({"model": "dummy", "lr": 0.25})
    assert u.tolist() == [pytest.approx(5 / 6), 0.5, 0.5, 0.5, 0.5, 0.25]
    assert Space.INACTIVE_CODE == 0.5
    with pytest.raises(ValueError, match="missing value"):
        space.encode({"model": "dummy"})


def test_decode_clips_and_resolves_conditions():
    space = conditional_space()
    # model=tree: codes of C, kernel and gamma are ignored
    config = space.decode([0.5, 0.9, 0.1, 0.9, 2.0, -3.0])
    assert config == {"model": "tree", "depth": 10, "lr": 0.0}
    assert space.decode(np.zeros(6)) == {
        "model": "svm", "C": 1e-3, "kernel": "rbf", "gamma": 1e-4, "lr": 0.0,
    }
    with pytest.raises(ValueError, match=r"shape \(6,\)"):
        space.decode([0.5, 0.5])


def test_random_decode_is_always_valid():
    space = mixed_space()
    rng = np.random.default_rng(3)
    for u in rng.uniform(-0.2, 1.2, size=(300, len(space))):
        config = space.decode(u)
        assert space.validate(config) == config


# --- grids --------------------------------------------------------------------------------


def test_grid_on_conditional_space_counts_and_is_valid():
    space = conditional_space()
    # svm: C(3) * kernel: rbf -> gamma(3), linear -> 1 => 3 * 4 = 12; tree: depth 3; dummy: 1
    # times lr (3) => (12 + 3 + 1) * 3 = 48
    configs = list(space.grid(3))
    assert len(configs) == 48 == space.grid_size(3)
    assert len({config_key(c) for c in configs}) == 48
    for config in configs:
        assert space.validate(config) == config
    assert configs[0] == {"model": "svm", "C": 1e-3, "kernel": "rbf", "gamma": 1e-4, "lr": 0.0}
    assert list(space.grid(3)) == configs  # deterministic
    assert sum(c["model"] == "dummy" for c in configs) == 3


def test_grid_is_lazy_and_counted_without_enumeration():
    space = Space([Float(f"x{i}", 0, 1) for i in range(30)])
    assert space.grid_size(10) == 10**30
    first = next(iter(space.grid(10)))
    assert first == {f"x{i}": 0.0 for i in range(30)}


def test_grid_size_matches_enumeration_on_mixed_space():
    space = mixed_space()
    for resolution in (1, 2, 4):
        assert space.grid_size(resolution) == sum(1 for _ in space.grid(resolution))
    assert Space().grid_size() == 0 and list(Space().grid()) == []
    with pytest.raises(ValueError, match="resolution"):
        space.grid_size(0)


# --- conditional / branch ------------------------------------------------------------------


def test_conditional_builds_prefixed_space():
    svm = Space([
        Float("C", 1e-3, 1e3, log=True),
        Categorical("kernel", ["rbf", "poly"]),
        Int("degree", 2, 5, when={"kernel": "poly"}),
    ])
    joined = Space.conditional("model", {"svm": svm, "tree": [Int("depth", 1, 8)], "nb": Space()})
    assert joined.names == ("model", "svm:C", "svm:kernel", "svm:degree", "tree:depth")
    assert joined["model"] == Categorical("model", ["svm", "tree", "nb"])
    assert joined["svm:C"] == Float("svm:C", 1e-3, 1e3, log=True, when={"model": "svm"})
    assert joined["svm:degree"].when == {"model": ("svm",), "svm:kernel": ("poly",)}
    assert Space.SEPARATOR == ":"
    config = {"model": "svm", "svm:C": 1.0, "svm:kernel": "poly", "svm:degree": 3}
    assert joined.validate(config) == config
    assert Space.branch(config, "model") == ("svm", {"C": 1.0, "kernel": "poly", "degree": 3})
    assert Space.branch({"model": "nb"}, "model") == ("nb", {})
    with pytest.raises(ValueError, match="no value for root 'model'"):
        Space.branch({}, "model")
    with pytest.raises(ValueError, match="non-empty dict"):
        Space.conditional("model", {})


def test_conditional_branch_round_trip_through_sampling():
    branches = {
        "a": Space([Float("x", 0, 1), Categorical("k", ["u", "v"]),
                    Int("m", 1, 3, when={"k": "v"})]),
        "b": Space([Int("x", 1, 9)]),
    }
    joined = Space.conditional("root", branches)
    rng = np.random.default_rng(0)
    for _ in range(100):
        config = joined.sample(rng)
        choice, params = Space.branch(config, "root")
        assert branches[choice].validate(params) == params
        rebuilt = {"root": choice, **{f"{choice}:{k}": v for k, v in params.items()}}
        assert rebuilt == config


# --- serialisation -------------------------------------------------------------------------


def test_to_dict_from_dict_json_round_trip():
    space = mixed_space()
    data = json.loads(json.dumps(space.to_dict()))
    assert Space.from_dict(data) == space
    tricky = Space([
        Categorical("c", [None, True, 1, 2.5, "s"]),
        Float("x", 1e-3, 1.0, log=True, when={"c": [None, True]}),
        Int("n", -3, 3, when={"c": 1}),
    ])
    assert Space.from_dict(json.loads(json.dumps(tricky.to_dict()))) == tricky
    assert tricky.to_dict()["params"][1] == {
        "type": "float", "name": "x", "low": 0.001, "high": 1.0, "log": True,
        "when": {"c": [None, True]},
    }
    assert Space.from_dict({"params": []}) == Space()
    with pytest.raises(ValueError, match="unknown parameter type 'bool'"):
        Space.from_dict({"params": [{"type": "bool", "name": "x"}]})
    with pytest.raises(ValueError, match="needs a 'params' list"):
        Space.from_dict({})
    with pytest.raises(ValueError, match="bad float parameter description"):
        Space.from_dict({"params": [{"type": "float", "name": "x", "low": 0}]})
