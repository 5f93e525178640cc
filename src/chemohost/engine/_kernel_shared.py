"""Solver helpers that do not depend on the model, compiled and cached once for every generated kernel.

Generated kernels (``_kernel_template.py``) import these, so a new model compiles only its own
right-hand side and steppers: the error norm, the dense LU factorisation used by the Rosenbrock
method and the event application are typed once per signature and loaded from numba's cache after.
"""

from __future__ import annotations

import math

from numba import njit


@njit(cache=True)
def _err_norm(y, ynew, err, rtol, atol):
    acc = 0.0
    n = y.shape[0]
    for j in range(n):
        sc = atol + rtol * max(abs(y[j]), abs(ynew[j]))
        acc += (err[j] / sc) ** 2
    return math.sqrt(acc / n)


@njit(cache=True)
def _lu_factor(a, piv):
    n = a.shape[0]
    for k in range(n):
        m = k
        big = abs(a[k, k])
        for i in range(k + 1, n):
            if abs(a[i, k]) > big:
                big = abs(a[i, k])
                m = i
        piv[k] = m
        if m != k:
            for j in range(n):
                tmp = a[k, j]
                a[k, j] = a[m, j]
                a[m, j] = tmp
        if a[k, k] == 0.0:
            continue
        for i in range(k + 1, n):
            a[i, k] /= a[k, k]
            for j in range(k + 1, n):
                a[i, j] -= a[i, k] * a[k, j]


@njit(cache=True)
def _lu_solve(a, piv, b):
    n = a.shape[0]
    for k in range(n):
        m = piv[k]
        if m != k:
            tmp = b[k]
            b[k] = b[m]
            b[m] = tmp
    for i in range(n):
        for j in range(i):
            b[i] -= a[i, j] * b[j]
    for i in range(n - 1, -1, -1):
        for j in range(i + 1, n):
            b[i] -= a[i, j] * b[j]
        b[i] /= a[i, i]


@njit(cache=True)
def _apply_events(i, t, iev, y, u, p, ev_t, ev_kind, ev_idx, ev_val, ev_scale):
    # kinds: 0 add to a state (bolus, inoculum), 1 add to an input rate (infusion edges,
    # timed switches), 2 multiply a state (resection)
    n_ev = ev_t.shape[1]
    while iev < n_ev and ev_t[i, iev] <= t:
        value = ev_val[i, iev]
        j = ev_idx[i, iev]
        if ev_scale[i, iev] >= 0:
            value *= p[ev_scale[i, iev]]
        if ev_kind[i, iev] == 0:
            y[j] += value
        elif ev_kind[i, iev] == 1:
            u[j] += value
            if abs(u[j]) < 1e-12 * abs(value):
                u[j] = 0.0
        else:
            y[j] *= value
        iev += 1
    return iev
