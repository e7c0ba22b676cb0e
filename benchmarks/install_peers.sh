#!/usr/bin/env bash
# Install the benchmark peers (AutoGluon 1.6, FLAML) into their own virtual environment,
# benchmarks/.peers-venv, so that they never move the project's own pins.
#   bash benchmarks/install_peers.sh
# benchmarks/tables.py runs each peer in a subprocess of this interpreter and the engine in
# the project's own environment (each pins its own xgboost, and both distributions install the
# same module).
set -euo pipefail
cd "$(dirname "$0")/.."
VENV=benchmarks/.peers-venv
python3 -m venv "$VENV"
# shellcheck disable=SC1091
. "$VENV/bin/activate"
python -m pip install --quiet --upgrade pip
# the CPU build of torch first: AutoGluon's own torch requirement would pull a CUDA build
python -m pip install --quiet torch==2.13.0
# One xgboost for both peers. AutoGluon asks for the xgboost-cpu distribution (>=2.1.1), FLAML's
# [automl] extra for the xgboost one (<3.0, a CUDA build that pulls 470 MB of NCCL); both write
# the same xgboost/ module, so the second overwrote the first's files. xgboost-cpu 2.1.x suits
# both; FLAML goes in without its extra (lightgbm, scipy, pandas and scikit-learn come with
# AutoGluon). A venv left by the older version of this script loses its xgboost first.
if python -m pip show --quiet xgboost >/dev/null 2>&1; then
    python -m pip uninstall --quiet -y xgboost nvidia-nccl-cu12
fi
# ray as `pip install autogluon` brings it: best_quality fits its bagged folds in ray workers and
# its DyStack sub-fit in a ray process; without ray both fall back to in-process fits (and at
# small budgets a failed sub-fit then ends the fit with "Learner is already fit").
python -m pip install --quiet "autogluon.tabular[lightgbm,catboost,xgboost,fastai,tabm,realmlp]==1.6.*" \
    "autogluon.core[ray]==1.6.*" "xgboost-cpu>=2.1.1,<3"
python -m pip install --quiet "flaml==2.8.*"
# PyPI's torchvision does not load beside this torch, and AutoGluon runs without it
python -m pip uninstall --quiet -y torchvision || true
python -c "import autogluon.tabular, flaml, lightgbm, ray, xgboost
print('peers ready: autogluon', autogluon.tabular.__version__, 'flaml', flaml.__version__,
      'lightgbm', lightgbm.__version__, 'xgboost', xgboost.__version__, 'ray', ray.__version__)"
