r"""The optimiser of an individual fit: each subject's maximum-likelihood estimate from several starts.

A subject is fitted by least squares on its standardized residuals
(:func:`scipy.optimize.least_squares`) and then L-BFGS-B on its full negative
log-likelihood (:func:`scipy.optimize.minimize`), from each start; the best
start wins. Subjects are independent: a run that fails is recorded for its
subject and never stops the others. Closed-form laws are cheap to evaluate, so
their subjects are spread over worker processes started from a fresh interpreter,
never forked from the caller (:func:`fit_runs`); a chemohost
model's runs go in lockstep in threads so that every round of evaluations is
one batched simulation (:func:`_lockstep`).
"""

from __future__ import annotations

import functools
import multiprocessing
import os
import queue
import threading
from collections.abc import Sequence
from concurrent.futures import ProcessPoolExecutor

import numpy as np
from scipy.optimize import Bounds, least_squares, minimize

from ._layout import RESIDUAL_PENALTY, Problem, _LawPredictor

__all__ = ["fit_runs", "hessians", "starts", "workers_for"]

_LBFGSB = {"maxiter": 200, "ftol": 1e-13, "gtol": 1e-7, "maxcor": 20}
"""L-BFGS-B settings of each subject's run: tight tolerances (the fits are small and smooth), and few enough
iterations that a hopeless start (a draw far from the data) does not hold up the others in lockstep."""

_LEAST_SQUARES_EVALUATIONS = 50
"""Residual evaluations of the least-squares stage (a start that needs more is left to the L-BFGS-B stage)."""

SUBJECTS_PER_WORKER = 128
"""Fewest subjects per worker process: below it, starting the workers costs more than it saves (the fork
server imports chemohost once, about 3 s of CPU; a closed-form subject's fit takes some 10–50 ms)."""


class _Abort(Exception):
    """Stops a subject's optimisation when the batched evaluation failed elsewhere."""


def _one_line(exc: BaseException) -> str:
    text = " ".join(str(exc).split()) or type(exc).__name__
    return f"{type(exc).__name__}: {text[:200]}"


# ------------------------------------------------------------------------------------------- one subject
def fit_subject(problem: Problem, s: int, z0: np.ndarray, ask) -> np.ndarray:
    """One subject's maximum-likelihood estimate from ``z0`` (its entries); ``ask(points)`` evaluates.

    Stage 1: least squares (:func:`scipy.optimize.least_squares`, trust-region reflective) on the
    standardized residuals over the structural parameters, the error parameters held at their start —
    robust in the narrow valleys of correlated parameters. Its standard deviations are then scaled to the
    misfit. Stage 2: L-BFGS-B (:func:`scipy.optimize.minimize`) on the full NLL over every entry, the NLL
    divided by its largest start gradient (at least 1) so that the first step stays of order one.
    Finite differences that overflow count as a zero slope (the residuals are bounded by
    :data:`RESIDUAL_PENALTY`, so a far-off trial point is penalised, never non-finite).
    """
    block = problem.blocks[s]
    lo, hi, h = problem.zlo[block], problem.zhi[block], problem.predictor.fd_step
    z = z0.copy()
    cols = np.flatnonzero(problem.is_model[block])
    if cols.size:
        def residuals(x):
            point = z.copy()
            point[cols] = x
            return ask(point[None])[1][0]

        def jacobian(x):
            points = np.repeat(z[None], cols.size + 1, axis=0)
            points[:, cols] = x
            step = np.where(x + h <= hi[cols], h, -h)
            points[1 + np.arange(cols.size), cols] += step
            r = ask(points)[1]
            with np.errstate(over="ignore", invalid="ignore"):
                return np.nan_to_num(((r[1:] - r[0]) / step[:, None]).T, nan=0.0, posinf=0.0, neginf=0.0)

        fit = least_squares(residuals, z[cols], jac=jacobian, bounds=(lo[cols], hi[cols]), method="trf",
                            x_scale="jac", ftol=1e-10, xtol=1e-10, gtol=1e-10,
                            max_nfev=_LEAST_SQUARES_EVALUATIONS)
        z[cols] = fit.x
        scale_sigmas(problem, s, z[None], fit.fun[None])  # a view: scales z itself
    k = block.size

    def objective(x):
        up, down = np.minimum(x + h, hi), np.maximum(x - h, lo)
        points = np.repeat(x[None], 2 * k + 1, axis=0)
        points[1 + np.arange(k), np.arange(k)] = up
        points[1 + k + np.arange(k), np.arange(k)] = down
        nll = ask(points)[0]
        with np.errstate(over="ignore", invalid="ignore"):
            grad = (nll[1 : k + 1] - nll[k + 1 :]) / np.where(up > down, up - down, 1.0)
        return nll[0], np.nan_to_num(grad, nan=0.0, posinf=0.0, neginf=0.0)

    _, g0 = objective(z)
    scale = 1.0 / max(1.0, float(np.max(np.abs(g0), initial=0.0)))
    res = minimize(lambda x: tuple(v * scale for v in objective(x)), z, jac=True, method="L-BFGS-B",
                   bounds=Bounds(lo, hi), options=_LBFGSB)
    return res.x


def scale_sigmas(problem: Problem, s: int, z: np.ndarray, residuals: np.ndarray) -> None:
    """Multiply subject ``s``'s standard deviations (every error entry but ``alpha``) in each of the points
    ``z`` (n, k_s) by the root-mean-square of its residuals (n, n_s) there."""
    rows = problem.rows_of[s]
    for o, (observable, error) in enumerate(zip(problem.observables, problem.errors)):
        sel = problem.row_obs[rows] == o
        if not sel.any():
            continue
        u = residuals[:, sel]
        with np.errstate(invalid="ignore", over="ignore"):
            rms = np.sqrt(np.mean(u**2, axis=1))
        ok = np.isfinite(rms) & (rms > 0) & (np.abs(u) < RESIDUAL_PENALTY).all(axis=1)
        for p in error.free:
            if p == "alpha":
                continue
            i = problem.index[(s, p, None, observable.quantity)]
            j = int(np.flatnonzero(problem.blocks[s] == i)[0])
            column = z[..., j]
            factor = np.where(ok, rms, 1.0)
            shifted = column + np.log(factor) if problem.log[i] else column * factor
            z[..., j] = np.clip(shifted, problem.zlo[i], problem.zhi[i])


# ------------------------------------------------------------------------------------------ all subjects
def workers_for(n_subjects: int, n_jobs: int | None) -> int:
    """Worker processes for ``n_subjects`` closed-form fits: ``n_jobs`` (None: the usable CPUs), at most one per
    :data:`SUBJECTS_PER_WORKER` subjects."""
    cpus = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else (os.cpu_count() or 1)
    wanted = cpus if n_jobs is None else n_jobs
    return max(1, min(wanted, n_subjects // SUBJECTS_PER_WORKER))


def fit_runs(problem: Problem, starts: Sequence[np.ndarray], subjects: Sequence[int], n_jobs: int | None = None
             ) -> tuple[dict[tuple[int, int], np.ndarray], dict[int, str]]:
    """Every subject's fit from every start: ``({(start, subject): optimum}, {subject: error of its last failed
    run})``. A run that raises is recorded for its subject; the others go on."""
    if not isinstance(problem.predictor, _LawPredictor):
        return _lockstep(problem, starts, subjects)
    subjects = list(subjects)
    workers = workers_for(len(subjects), n_jobs)
    if workers == 1:
        return _law_runs(problem, starts, subjects)
    chunks = [subjects[w::workers] for w in range(workers)]
    results: dict = {}
    errors: dict = {}
    with ProcessPoolExecutor(workers, mp_context=_worker_context(), initializer=_share,
                             initargs=(problem, starts)) as pool:
        for part_results, part_errors in pool.map(_law_worker, chunks):
            results.update(part_results)
            errors.update(part_errors)
    return results, errors


def _worker_context() -> multiprocessing.context.BaseContext:
    """Worker processes started from a fresh interpreter, never forked from this one.

    This process may hold threads (numba's parallel kernels, BLAS, JAX) whose locks a fork copies held;
    forking it after its kernels had run hung in ``fork()`` itself (seen in ``robustness``). The fork
    server is a fresh single-threaded interpreter that has imported this module once; each worker is a
    fork of it, so a pool costs one import per process, not one per worker. Where there is no fork server,
    each worker is spawned.
    """
    if "forkserver" in multiprocessing.get_all_start_methods():
        context = multiprocessing.get_context("forkserver")
        context.set_forkserver_preload([__name__])  # read when the server starts; later calls are no-ops
        return context
    return multiprocessing.get_context("spawn")


_SHARED: tuple | None = None
"""A worker process's problem and starts (set once per worker by :func:`_share`, never in the caller)."""


def _share(problem: Problem, starts) -> None:
    global _SHARED
    _SHARED = (problem, starts)


def _law_worker(subjects: list[int]):
    problem, starts = _SHARED
    return _law_runs(problem, starts, subjects)


def _law_runs(problem: Problem, starts, subjects) -> tuple[dict, dict]:
    results, errors = {}, {}
    for s in subjects:
        ask = functools.partial(_ask_one, problem, s)
        for i, start in enumerate(starts):
            try:
                results[(i, s)] = fit_subject(problem, s, start[problem.blocks[s]], ask)
            except Exception as exc:  # noqa: BLE001 - recorded for this subject; the others go on
                errors[s] = _one_line(exc)
    return results, errors


def _ask_one(problem: Problem, s: int, points: np.ndarray):
    return problem.evaluate([(s, points)])[0]


def _lockstep(problem: Problem, starts, subjects) -> tuple[dict, dict]:
    """A model's runs in lockstep: each run lives in a thread whose ``ask`` posts its points and waits; once
    every running fit has posted, this thread evaluates them together in one batched prediction."""
    runs = [(i, s) for i in range(len(starts)) for s in subjects]
    results: dict[tuple[int, int], np.ndarray] = {}
    errors: dict[int, str] = {}
    requests: queue.SimpleQueue = queue.SimpleQueue()
    ready = {run: threading.Event() for run in runs}
    answers: dict[tuple[int, int], tuple[np.ndarray, np.ndarray]] = {}
    failure: list[BaseException] = []

    def ask(run, points):
        if failure:
            raise _Abort
        requests.put((run, np.atleast_2d(points).copy()))
        ready[run].wait()
        ready[run].clear()
        if failure:
            raise _Abort
        return answers.pop(run)

    def work(run) -> None:
        i, s = run
        try:
            results[run] = fit_subject(problem, s, starts[i][problem.blocks[s]], functools.partial(ask, run))
        except _Abort:
            pass
        except Exception as exc:  # noqa: BLE001 - recorded for this subject; the others go on
            errors[s] = _one_line(exc)
        finally:
            requests.put((run, None))

    threads = [threading.Thread(target=work, args=(run,), daemon=True) for run in runs]
    for thread in threads:
        thread.start()
    active, posted = len(runs), {}
    while active:
        run, points = requests.get()
        if points is None:
            active -= 1
        else:
            posted[run] = points
        if posted and len(posted) == active and not failure:
            try:
                for key, answer in zip(posted, problem.evaluate([(s, pts) for (_, s), pts in posted.items()])):
                    answers[key] = answer
            except BaseException as exc:  # noqa: BLE001 - the batched evaluation itself: re-raised below
                failure.append(exc)
        if failure or (posted and len(posted) == active):
            for key in posted:
                ready[key].set()  # answered, or (after a failure) released to abort
            posted.clear()
    for thread in threads:
        thread.join()
    if failure:
        raise failure[0]
    return results, errors


# ------------------------------------------------------------------------------------------ curvature
def hessians(problem: Problem, z: np.ndarray) -> tuple[list[tuple[np.ndarray, np.ndarray]], np.ndarray]:
    """Per-subject gradient and Hessian of the NLL on the optimiser's scale by central differences (all
    subjects in one batch), and which entries sit at a bound (their rows and columns are left at 0)."""
    room = np.minimum(z - problem.zlo, problem.zhi - z)
    at_bound = room <= 1e-7 * np.maximum(1.0, np.abs(z))
    h = np.where(at_bound, 0.0, np.minimum(problem.predictor.hessian_step, 0.5 * room))
    requests, layouts = [], []
    for s, block in enumerate(problem.blocks):
        k, hs, centre = block.size, h[block], z[block]
        steps = [np.zeros(k)]
        for a in range(k):
            steps += [np.eye(k)[a] * hs[a], -np.eye(k)[a] * hs[a]]
        pairs = [(a, b) for a in range(k) for b in range(a + 1, k)]
        for a, b in pairs:
            for sa, sb in ((1, 1), (1, -1), (-1, 1), (-1, -1)):
                steps.append(np.eye(k)[a] * sa * hs[a] + np.eye(k)[b] * sb * hs[b])
        requests.append((s, centre[None] + np.array(steps)))
        layouts.append((k, hs, pairs))
    out = []
    with np.errstate(over="ignore", invalid="ignore"):
        for (nll, _), (k, hs, pairs) in zip(problem.evaluate(requests), layouts):
            H, g = np.zeros((k, k)), np.zeros(k)
            for a in range(k):
                if hs[a] > 0:
                    H[a, a] = (nll[1 + 2 * a] - 2 * nll[0] + nll[2 + 2 * a]) / hs[a] ** 2
                    g[a] = (nll[1 + 2 * a] - nll[2 + 2 * a]) / (2 * hs[a])
            for p, (a, b) in enumerate(pairs):
                if hs[a] > 0 and hs[b] > 0:
                    pp, pm, mp, mm = nll[1 + 2 * k + 4 * p : 5 + 2 * k + 4 * p]
                    H[a, b] = H[b, a] = (pp - pm - mp + mm) / (4 * hs[a] * hs[b])
            out.append((g, H))
    return out, at_bound


def starts(problem: Problem, n_starts: int, seed: int) -> list[np.ndarray]:
    """Start 0 at the typical values; the others drawn log-uniformly (uniformly on a linear scale) inside the
    bounds for the structural parameters. In each start every subject's standard deviations are then scaled
    to the start's misfit (root-mean-square standardized residual)."""
    first = np.array([e.start for e in problem.entries])
    z0 = np.where(problem.log, np.log(first), first)
    rng = np.random.default_rng(seed)
    points = np.array([z0] + [np.where(problem.is_model, rng.uniform(problem.zlo, problem.zhi), z0)
                              for _ in range(n_starts - 1)])
    answers = problem.evaluate([(s, points[:, block]) for s, block in enumerate(problem.blocks)])
    for s, (block, (_, resid)) in enumerate(zip(problem.blocks, answers)):
        local = points[:, block]
        scale_sigmas(problem, s, local, resid)
        points[:, block] = local
    return list(points)
