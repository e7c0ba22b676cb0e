"""Where trials run: in the calling process, in worker processes, or on a Dask cluster.

A pool takes trial jobs and hands back finished ``TrialRecord`` objects. The
work of one trial is :func:`evaluate_trial`, the same function everywhere.

* :class:`ProcessPool` (the default, also for ``n_jobs=1``) runs ``n`` trials at
  once, each slot a single-worker loky executor (joblib's process backend). A
  trial past its hard deadline, or whose process dies, has its worker killed and
  replaced; the trial is recorded as ``timeout`` or ``failed`` and the other
  slots go on. Idle workers are kept for the next search of the process.
* :class:`InProcessPool` (``backend="inprocess"``) runs one trial at a time in
  the caller, for debugging; a trial's time limit is only checked between folds.
* :class:`DaskPool` submits trials to a ``dask.distributed.Client``. Dask
  cannot kill a running task: a trial past its deadline is recorded as a
  timeout and abandoned (its result ignored).
"""

from __future__ import annotations

import atexit
import logging
import math
import os
import pickle
import sys
import time
import traceback
from collections.abc import Callable, Mapping
from dataclasses import dataclass, replace
from typing import Any

import numpy as np
import pandas as pd

from automl.engine.datafile import write_data_file
from automl.engine.evaluation import Evaluation, Splits, TrialTimeout, cross_validate
from automl.engine.memory import megabytes, resident_bytes
from automl.engine.records import TrialRecord
from automl.metrics import Metric
from automl.specs import Context, ModelSpec
from search._processes import worker_executor

logger = logging.getLogger(__name__)

KILL_GRACE = 2.0
"""Seconds a process trial may run past its deadline before its worker is killed."""


@dataclass(frozen=True)
class TrialData:
    """What every trial of a search shares: data, splits, metric, context, specs."""

    X: pd.DataFrame
    y: np.ndarray
    splits: Splits
    metric: Metric
    ctx: Context
    specs: Mapping[str, ModelSpec]
    evaluate: Callable[..., Evaluation] = cross_validate
    """``cross_validate`` or a callable with its signature (ranking, generation)."""


@dataclass(frozen=True)
class TrialJob:
    """One trial to evaluate: the model, its parameters and the time allowed."""

    number: int
    model: str
    params: Mapping[str, Any]
    time_limit: float
    fidelity: float | None = None


FIT_SHARE_OF_TRIAL = 0.8
"""Share of a fold's slice of the trial time limit its fit may take (``Context.time_limit``)."""


def fit_time_limit(trial_limit: float, n_splits: int) -> float:
    """Seconds one fold's ``fit`` may take within a trial limit, leaving time to score."""
    return FIT_SHARE_OF_TRIAL * trial_limit / max(1, n_splits)


def _job_context(ctx: Context, job: TrialJob, n_splits: int) -> Context:
    """The search's context, with a fit limit no longer than this job's share.

    A trial submitted close to the end of the budget gets less than the usual
    limit; epoch-trained models then stop early with their best weights
    instead of being killed.
    """
    if ctx.time_limit is None:
        return ctx
    share = fit_time_limit(job.time_limit, n_splits)
    return ctx if share >= ctx.time_limit else replace(ctx, time_limit=max(share, 0.1))


def evaluate_trial(job: TrialJob, data: TrialData) -> TrialRecord:
    """Cross-validate one configuration; never raises for a failing model."""
    started = time.monotonic()
    spec = data.specs[job.model]
    ctx = _job_context(data.ctx, job, len(data.splits))
    record = TrialRecord(number=job.number, model=job.model, params=dict(job.params),
                         status="ok", fidelity=job.fidelity)
    params, row_fraction = apply_fidelity(spec, job.params, job.fidelity)
    try:
        evaluation = data.evaluate(
            lambda: spec.build(params, ctx),
            data.X, data.y, data.splits, data.metric, data.ctx.n_classes,
            deadline=started + job.time_limit if math.isfinite(job.time_limit) else None,
            train_fraction=row_fraction,
            seed=data.ctx.seed,
        )
    except TrialTimeout as exc:
        record.status, record.error = "timeout", str(exc)
    except MemoryError:
        record.status, record.error = "failed", "out of memory"
    except Exception as exc:  # a failing trial never stops the search
        record.status, record.error = "failed", f"{type(exc).__name__}: {exc}"
        logger.debug("trial %d (%s) failed:\n%s", job.number, job.model,
                     traceback.format_exc())
    else:
        if math.isfinite(evaluation.score):
            record.score = evaluation.score
            record.fold_scores = evaluation.fold_scores
            record.oof = evaluation.oof.astype(np.float32)
            record.extras = dict(evaluation.extras)
        else:
            record.status, record.error = "failed", "the metric is NaN or infinite"
    record.duration = time.monotonic() - started
    return record


def apply_fidelity(spec: ModelSpec, params: Mapping[str, Any],
                   fidelity: float | None) -> tuple[dict[str, Any], float]:
    """Turn a fidelity fraction into the spec's cost knob, or a fraction of training rows.

    A spec that declares a ``Fidelity`` gets its parameter set to
    ``low + (high - low) * fidelity`` (rounded when both bounds are integers);
    any other spec trains on that fraction of each training fold.

    Returns
    -------
    params : dict
        The configuration to build.
    row_fraction : float
        Share of training rows to fit on (1.0: all).
    """
    params = dict(params)
    if fidelity is None:
        return params, 1.0
    knob = spec.fidelity
    if knob is None:
        return params, float(fidelity)
    value = knob.low + (knob.high - knob.low) * float(fidelity)
    if float(knob.low).is_integer() and float(knob.high).is_integer():
        value = int(round(value))
    params[knob.param] = value
    return params, 1.0


class InProcessPool:
    """Runs each trial in the calling process, one at a time."""

    slots = 1

    def __init__(self, data: TrialData) -> None:
        self.data = data
        self._done: list[TrialRecord] = []

    @property
    def running(self) -> int:
        """Trials submitted and not yet collected."""
        return len(self._done)

    def submit(self, job: TrialJob) -> None:
        """Evaluate ``job`` now; its record is returned by the next :meth:`collect`."""
        self._done.append(evaluate_trial(job, self.data))

    def collect(self, timeout: float = 0.0) -> list[TrialRecord]:
        """Return the records finished since the last call."""
        done, self._done = self._done, []
        return done

    def close(self) -> None:
        """Nothing to release."""


_WORKER_CACHE: dict[str, TrialData] = {}
"""Worker side: the data of the current search, loaded once per process."""

_EXECUTORS: dict[tuple[Any, int], Any] = {}
"""Caller side: single-worker loky executors per (thread settings, slot), reused across
searches so that worker start-up (imports) is paid once per process."""


@atexit.register
def stop_workers() -> None:
    """Stop every idle worker of this process (at exit, so that none outlives it)."""
    while _EXECUTORS:
        _, executor = _EXECUTORS.popitem()
        executor.shutdown(wait=True)


def _evaluate_from_file(job: TrialJob, path: str) -> TrialRecord:
    """Worker side: load the shared data once per process, then evaluate."""
    data = _WORKER_CACHE.get(path)
    if data is None:
        _WORKER_CACHE.clear()
        with open(path, "rb") as handle:
            data = _WORKER_CACHE[path] = pickle.load(handle)
    return evaluate_trial(job, data)


@dataclass
class _Running:
    job: TrialJob
    future: Any
    slot: int
    started: float
    peak: int = 0
    """Largest resident memory of the trial's worker seen so far, in bytes."""


class ProcessPool:
    """Runs up to ``n_workers`` trials at once in loky worker processes.

    Parameters
    ----------
    data : TrialData
        Written once to a temporary file that every worker loads
        (:mod:`automl.engine.datafile`); removed by ``close``.
    n_workers : int
        Trials at once (one process each).
    memory_limit : int, optional
        Bytes of resident memory a worker may hold (data, libraries and the
        trial together); a trial whose worker passes it is stopped, recorded as
        ``out_of_memory`` with the peak seen, and its worker replaced. Memory
        is sampled each time the pool looks for finished trials (about every
        50 ms): an allocation larger than what is free between two looks is
        not caught in time.
    """

    def __init__(self, data: TrialData, n_workers: int, memory_limit: int | None = None) -> None:
        self.slots, self.memory_limit = n_workers, memory_limit
        self._path = write_data_file(data)
        self._running: dict[int, _Running] = {}
        self._env = {"OMP_NUM_THREADS": str(data.ctx.n_threads),
                     "OPENBLAS_NUM_THREADS": str(data.ctx.n_threads),
                     "MKL_NUM_THREADS": str(data.ctx.n_threads)}
        # workers inherit sys.path when they start: a changed path needs new workers
        self._key = (tuple(sorted(self._env.items())), tuple(sys.path))

    @property
    def running(self) -> int:
        """Trials in flight."""
        return len(self._running)

    def _executor(self, slot: int) -> Any:
        executor = _EXECUTORS.get((self._key, slot))
        if executor is None:
            executor = worker_executor(1, env=self._env)
            _EXECUTORS[(self._key, slot)] = executor
        return executor

    def submit(self, job: TrialJob) -> None:
        """Start ``job`` on a free slot."""
        busy = {r.slot for r in self._running.values()}
        slot = next(i for i in range(self.slots) if i not in busy)
        future = self._executor(slot).submit(_evaluate_from_file, job, self._path)
        self._running[job.number] = _Running(job, future, slot, time.monotonic())

    def collect(self, timeout: float = 0.05) -> list[TrialRecord]:
        """Wait up to ``timeout`` seconds; return finished, killed and crashed trials."""
        from concurrent.futures import FIRST_COMPLETED, wait

        if self._running:
            wait([r.future for r in self._running.values()], timeout=timeout,
                 return_when=FIRST_COMPLETED)
        done = []
        now = time.monotonic()
        for number, run in list(self._running.items()):
            over = self._sample_memory(run)
            if run.future.done():
                done.append(self._result(run))
            elif over:
                self._kill(run.slot)
                done.append(_lost(run, "out_of_memory",
                                  f"its worker held {megabytes(run.peak)}, over memory_limit "
                                  f"({megabytes(self.memory_limit or 0)}); the trial was "
                                  "stopped and its worker replaced"))
            elif now > run.started + run.job.time_limit + KILL_GRACE:
                self._kill(run.slot)
                done.append(_lost(run, "timeout",
                                  f"killed after {now - run.started:.1f}s "
                                  f"(limit {run.job.time_limit:.1f}s)"))
            else:
                continue
            del self._running[number]
        return done

    def _result(self, run: _Running) -> TrialRecord:
        try:
            record = run.future.result()
        except Exception as exc:  # the worker process died
            self._kill(run.slot)
            return _lost(run, "failed", f"worker process died: {type(exc).__name__}: {exc}")
        record.peak_memory = run.peak or None
        return record

    def _sample_memory(self, run: _Running) -> bool:
        """Read the resident memory of ``run``'s worker; whether it is over the limit."""
        executor = _EXECUTORS.get((self._key, run.slot))
        pids = list(getattr(executor, "_processes", None) or ())  # loky: pid -> process
        resident = resident_bytes(pids[0]) if len(pids) == 1 else None
        if resident is None:
            return False
        run.peak = max(run.peak, resident)
        return self.memory_limit is not None and resident > self.memory_limit

    def _kill(self, slot: int) -> None:
        executor = _EXECUTORS.pop((self._key, slot), None)
        if executor is not None:
            executor.shutdown(wait=False, kill_workers=True)

    def close(self) -> None:
        """Stop trials still running (their workers are killed) and remove the data file.

        Idle workers stay alive for the next search of this process.
        """
        for run in self._running.values():
            self._kill(run.slot)
        self._running.clear()
        try:
            os.unlink(self._path)
        except OSError:
            pass


class DaskPool:
    """Runs trials on a Dask cluster through a ``dask.distributed.Client``.

    Parameters
    ----------
    data : TrialData
        Scattered once to the workers.
    client : dask.distributed.Client
        A connected client.
    n_workers : int, optional
        Trials at once; the cluster's total thread count when None.
    """

    def __init__(self, data: TrialData, client: Any, n_workers: int | None = None) -> None:
        self.client = client
        if n_workers is None:
            n_workers = max(1, sum(client.nthreads().values()))
        self.slots = n_workers
        self._data = client.scatter(data, broadcast=True)
        self._running: dict[int, _Running] = {}

    @property
    def running(self) -> int:
        """Trials in flight."""
        return len(self._running)

    def submit(self, job: TrialJob) -> None:
        """Submit ``job`` to the cluster."""
        future = self.client.submit(evaluate_trial, job, self._data, pure=False,
                                    key=f"automl-trial-{job.number}-{time.monotonic_ns()}")
        self._running[job.number] = _Running(job, future, 0, time.monotonic())

    def collect(self, timeout: float = 0.05) -> list[TrialRecord]:
        """Wait up to ``timeout`` seconds; return finished, overdue and failed trials."""
        from distributed import wait

        if self._running:
            try:
                wait([r.future for r in self._running.values()], timeout=timeout,
                     return_when="FIRST_COMPLETED")
            except TimeoutError:
                pass
        done = []
        now = time.monotonic()
        for number, run in list(self._running.items()):
            if run.future.status == "finished":
                done.append(run.future.result())
            elif run.future.status in ("error", "cancelled", "lost"):
                done.append(_lost(run, "failed", f"dask task {run.future.status}: "
                                                 f"{_dask_error(run.future)}"))
            elif now > run.started + run.job.time_limit + KILL_GRACE:
                run.future.cancel()
                done.append(_lost(run, "timeout", f"abandoned after {now - run.started:.1f}s "
                                                  f"(limit {run.job.time_limit:.1f}s)"))
            else:
                continue
            del self._running[number]
        return done

    def close(self) -> None:
        """Cancel what is still running."""
        for run in self._running.values():
            run.future.cancel()
        self._running.clear()


def _dask_error(future: Any) -> str:
    try:
        exc = future.exception(timeout=1)
    except Exception as error:  # the exception itself may not come back
        return type(error).__name__
    return f"{type(exc).__name__}: {exc}"


def _lost(run: _Running, status: str, error: str) -> TrialRecord:
    return TrialRecord(number=run.job.number, model=run.job.model,
                       params=dict(run.job.params), status=status, error=error,
                       fidelity=run.job.fidelity,
                       duration=time.monotonic() - run.started)


def worker_count(n_jobs: int) -> int:
    """Trials run at once for ``n_jobs`` (-1: one per core)."""
    return (os.cpu_count() or 1) if n_jobs == -1 else n_jobs


def threads_per_trial(n_jobs: int) -> int:
    """Threads each trial may use so that ``n_jobs`` trials share the cores."""
    return max(1, (os.cpu_count() or 1) // max(1, worker_count(n_jobs)))


def make_pool(data: TrialData, n_jobs: int, backend: str,
              memory_limit: int | None = None) -> Any:
    """The pool ``AutoML(n_jobs=..., backend=...)`` asks for.

    ``memory_limit`` (bytes per worker) applies to worker processes only.

    Raises
    ------
    ValueError
        For an unknown backend, or ``"dask"`` without a running client.
    """
    workers = worker_count(n_jobs)
    if backend == "dask":
        try:
            from distributed import get_client
        except ImportError:
            raise ValueError("backend='dask' needs dask.distributed: "
                             "pip install 'automl-engine[dask]'") from None
        try:
            client = get_client()
        except ValueError:
            raise ValueError("backend='dask' found no Dask client; create one first, e.g. "
                             "dask.distributed.Client(LocalCluster())") from None
        return DaskPool(data, client, None if n_jobs == -1 else workers)
    if backend not in ("auto", "processes", "inprocess"):
        raise ValueError(f"unknown backend {backend!r}; use 'auto', 'processes', "
                         "'inprocess' or 'dask'")
    if backend == "inprocess":
        if workers != 1:
            raise ValueError("backend='inprocess' runs one trial at a time; use n_jobs=1")
        return InProcessPool(data)
    return ProcessPool(data, workers, memory_limit)
