import shutil
from pathlib import Path

import pytest

from automl.cli import main
from automl.specfile import load_spec

EXAMPLE = Path(__file__).resolve().parents[2] / "examples" / "spec_search"


def test_example_spec_runs_resumes_and_saves(tmp_path, capsys):
    for name in ("train.csv", "test.csv"):
        shutil.copy(EXAMPLE / name, tmp_path / name)
    spec = (EXAMPLE / "search.toml").read_text().replace("time_budget = 30",
                                                         "time_budget = 60\nmax_trials = 6")
    (tmp_path / "search.toml").write_text(spec + '\n[output]\nmodel = "model"\n')
    assert main(["run", str(tmp_path / "search.toml")]) == 0
    out = capsys.readouterr().out
    assert "held-out accuracy on test.csv" in out and (tmp_path / "model").is_dir()
    accuracy = float(out.split("held-out accuracy on test.csv:")[1].split()[0])
    assert accuracy > 0.9
    # the storage in the spec makes a second run resume the same study
    (tmp_path / "search.toml").write_text(
        (tmp_path / "search.toml").read_text().replace("max_trials = 6", "max_trials = 8"))
    assert main(["run", str(tmp_path / "search.toml")]) == 0
    from automl.engine.storage import TrialStore

    stored = TrialStore(tmp_path / "runs.db", "breast-cancer").load()
    assert sorted(r.number for r in stored) == list(range(8))
    assert {r.model for r in stored} <= {"xgboost", "logistic_regression",
                                         "hist_gradient_boosting"}
    depths = [r.params["max_depth"] for r in stored if r.model == "xgboost"]
    assert depths and all(2 <= d <= 6 for d in depths)


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ('[data]\ntarget = "y"\n', "needs 'train'"),
        ('[data]\ntrain = "t.csv"\ntarget = "y"\n[serach]\n', "unknown sections"),
        ('[data]\ntrain = "t.csv"\ntarget = "y"\n[search]\nbudget = 3\n',
         r"unknown \[search\] keys \['budget'\]"),
        ("[data\n", "is not valid TOML"),
    ],
)
def test_bad_spec_files_name_the_problem(tmp_path, text, message):
    path = tmp_path / "spec.toml"
    path.write_text(text)
    with pytest.raises(ValueError, match=message):
        load_spec(path)


def test_space_override_of_unknown_parameter_is_named(tmp_path, capsys):
    shutil.copy(EXAMPLE / "train.csv", tmp_path / "train.csv")
    (tmp_path / "s.toml").write_text(
        '[data]\ntrain = "train.csv"\ntarget = "diagnosis"\n'
        '[models.xgboost]\ndepth = { low = 2, high = 4 }\n')
    assert main(["run", str(tmp_path / "s.toml")]) == 2
    assert "model 'xgboost' has no parameters ['depth']" in capsys.readouterr().err
