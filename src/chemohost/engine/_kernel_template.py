# Solver template: this file is not imported. The code generator appends it to
# a model's generated right-hand side (``rhs``, ``jac``, ``dfdt``, ``observe``,
# ``NSTATE``, ``NINPUT``, ``NOBS``) and compiles the result with numba, so each model gets one
# self-contained, cacheable module. Numerics: Dormand & Prince (1980) 5(4) with
# Hairer's dense output and a PI step-size controller (Hairer, Nørsett & Wanner
# 1993, II.4); Rosenbrock 2(3) of Shampine & Reichelt (1997) for stiff systems.
# Each patient is integrated with its own adaptive steps and error control; at
# each output time ``observe`` computes the states and derived outputs and only
# the selected ones (``sel``) are stored, so memory scales with what is saved.
# ruff: noqa: F821

OK = 0
MAX_STEPS = 1
STEP_TOO_SMALL = 2


@njit(cache=True)
def _initial_step(t, y, p, u, f0, rtol, atol, h_limit, ytmp, f1):
    n = y.shape[0]
    d0 = 0.0
    d1 = 0.0
    for j in range(n):
        sc = atol + rtol * abs(y[j])
        d0 += (y[j] / sc) ** 2
        d1 += (f0[j] / sc) ** 2
    d0 = math.sqrt(d0 / n)
    d1 = math.sqrt(d1 / n)
    h0 = 1e-6 if (d0 < 1e-5 or d1 < 1e-5) else 0.01 * d0 / d1
    h0 = min(h0, h_limit)
    for j in range(n):
        ytmp[j] = y[j] + h0 * f0[j]
    rhs(t + h0, ytmp, p, u, f1)
    d2 = 0.0
    for j in range(n):
        sc = atol + rtol * abs(y[j])
        d2 += ((f1[j] - f0[j]) / sc) ** 2
    d2 = math.sqrt(d2 / n) / h0
    dm = max(d1, d2)
    h1 = max(1e-6, h0 * 1e-3) if dm <= 1e-15 else (0.01 / dm) ** 0.2
    return min(100.0 * h0, h1, h_limit)


@njit(cache=True)
def _dopri5_segment(t, t_stop, y, p, u, h, rtol, atol, h_max, max_steps, t_out, iout, out_row, w, sel, obs):
    # w: work array (10, n): k1..k7, ynew, ytmp, err
    n = y.shape[0]
    k1 = w[0]
    k2 = w[1]
    k3 = w[2]
    k4 = w[3]
    k5 = w[4]
    k6 = w[5]
    k7 = w[6]
    yn = w[7]
    yt = w[8]
    er = w[9]
    nt = t_out.shape[0]
    rhs(t, y, p, u, k1)
    if h <= 0.0:
        h = _initial_step(t, y, p, u, k1, rtol, atol, min(h_max, t_stop - t), yt, k2)
    steps = 0
    err_old = 1e-4
    rejected = False
    while t < t_stop:
        if steps >= max_steps:
            return MAX_STEPS, t, h, iout, steps
        last = False
        if t + 1.01 * h >= t_stop:
            h = t_stop - t
            last = True
        for j in range(n):
            yt[j] = y[j] + h * (0.2 * k1[j])
        rhs(t + 0.2 * h, yt, p, u, k2)
        for j in range(n):
            yt[j] = y[j] + h * (3.0 / 40.0 * k1[j] + 9.0 / 40.0 * k2[j])
        rhs(t + 0.3 * h, yt, p, u, k3)
        for j in range(n):
            yt[j] = y[j] + h * (44.0 / 45.0 * k1[j] - 56.0 / 15.0 * k2[j] + 32.0 / 9.0 * k3[j])
        rhs(t + 0.8 * h, yt, p, u, k4)
        for j in range(n):
            yt[j] = y[j] + h * (19372.0 / 6561.0 * k1[j] - 25360.0 / 2187.0 * k2[j] + 64448.0 / 6561.0 * k3[j]
                                - 212.0 / 729.0 * k4[j])
        rhs(t + 8.0 / 9.0 * h, yt, p, u, k5)
        for j in range(n):
            yt[j] = y[j] + h * (9017.0 / 3168.0 * k1[j] - 355.0 / 33.0 * k2[j] + 46732.0 / 5247.0 * k3[j]
                                + 49.0 / 176.0 * k4[j] - 5103.0 / 18656.0 * k5[j])
        rhs(t + h, yt, p, u, k6)
        for j in range(n):
            yn[j] = y[j] + h * (35.0 / 384.0 * k1[j] + 500.0 / 1113.0 * k3[j] + 125.0 / 192.0 * k4[j]
                                - 2187.0 / 6784.0 * k5[j] + 11.0 / 84.0 * k6[j])
        rhs(t + h, yn, p, u, k7)
        for j in range(n):
            er[j] = h * (71.0 / 57600.0 * k1[j] - 71.0 / 16695.0 * k3[j] + 71.0 / 1920.0 * k4[j]
                         - 17253.0 / 339200.0 * k5[j] + 22.0 / 525.0 * k6[j] - 1.0 / 40.0 * k7[j])
        err = _err_norm(y, yn, er, rtol, atol)
        steps += 1
        if err <= 1.0:
            t_new = t_stop if last else t + h
            # dense output for requested times inside (t, t_new), strictly before t_stop
            while iout < nt and t_out[iout] <= t_new and t_out[iout] < t_stop:
                th = (t_out[iout] - t) / h
                th1 = 1.0 - th
                for j in range(n):
                    dy = yn[j] - y[j]
                    bspl = h * k1[j] - dy
                    r4 = dy - h * k7[j] - bspl
                    r5 = h * (-12715105075.0 / 11282082432.0 * k1[j] + 87487479700.0 / 32700410799.0 * k3[j]
                              - 10690763975.0 / 1880347072.0 * k4[j] + 701980252875.0 / 199316789632.0 * k5[j]
                              - 1453857185.0 / 822651844.0 * k6[j] + 69997945.0 / 29380423.0 * k7[j])
                    w[10, j] = y[j] + th * (dy + th1 * (bspl + th * (r4 + th1 * r5)))
                _record(t_out[iout], w[10], p, sel, obs, out_row[iout])
                iout += 1
            for j in range(n):
                y[j] = yn[j]
                k1[j] = k7[j]
            t = t_new
            # PI controller (Hairer's beta = 0.04)
            fac = 0.9 * max(err, 1e-10) ** (-0.17) * err_old ** 0.04
            fac = min(5.0, max(0.2, fac))
            if rejected:
                fac = min(fac, 1.0)
            err_old = max(err, 1e-4)
            h = min(h * fac, h_max)
            rejected = False
        else:
            if not err < math.inf:  # nan or inf
                fac = 0.1
            else:
                fac = max(0.2, 0.9 * err ** (-0.2))
            h = h * fac
            rejected = True
            if h < 1e-14 * max(1.0, abs(t)):
                return STEP_TOO_SMALL, t, h, iout, steps
    return OK, t, h, iout, steps


@njit(cache=True)
def _rosenbrock23_segment(t, t_stop, y, p, u, h, rtol, atol, h_max, max_steps, t_out, iout, out_row, w, sel, obs):
    n = y.shape[0]
    d = 1.0 / (2.0 + math.sqrt(2.0))
    e32 = 6.0 + math.sqrt(2.0)
    f0 = w[0]
    f1 = w[1]
    f2 = w[2]
    k1 = w[3]
    k2 = w[4]
    k3 = w[5]
    yn = w[6]
    yt = w[7]
    er = w[8]
    dt = w[9]
    jm = np.empty((n, n))
    wm = np.empty((n, n))
    piv = np.empty(n, dtype=np.int64)
    nt = t_out.shape[0]
    rhs(t, y, p, u, f0)
    if h <= 0.0:
        h = _initial_step(t, y, p, u, f0, rtol, atol, min(h_max, t_stop - t), yt, f1)
    steps = 0
    rejected = False
    while t < t_stop:
        if steps >= max_steps:
            return MAX_STEPS, t, h, iout, steps
        last = False
        if t + 1.01 * h >= t_stop:
            h = t_stop - t
            last = True
        jac(t, y, p, u, jm)
        dfdt(t, y, p, u, dt)
        for i in range(n):
            for j in range(n):
                wm[i, j] = -h * d * jm[i, j]
            wm[i, i] += 1.0
        _lu_factor(wm, piv)
        for j in range(n):
            k1[j] = f0[j] + h * d * dt[j]
        _lu_solve(wm, piv, k1)
        for j in range(n):
            yt[j] = y[j] + 0.5 * h * k1[j]
        rhs(t + 0.5 * h, yt, p, u, f1)
        for j in range(n):
            k2[j] = f1[j] - k1[j]
        _lu_solve(wm, piv, k2)
        for j in range(n):
            k2[j] += k1[j]
            yn[j] = y[j] + h * k2[j]
        rhs(t + h, yn, p, u, f2)
        for j in range(n):
            k3[j] = f2[j] - e32 * (k2[j] - f1[j]) - 2.0 * (k1[j] - f0[j]) + h * d * dt[j]
        _lu_solve(wm, piv, k3)
        for j in range(n):
            er[j] = h / 6.0 * (k1[j] - 2.0 * k2[j] + k3[j])
        err = _err_norm(y, yn, er, rtol, atol)
        steps += 1
        if err <= 1.0:
            t_new = t_stop if last else t + h
            while iout < nt and t_out[iout] <= t_new and t_out[iout] < t_stop:
                th = (t_out[iout] - t) / h
                for j in range(n):
                    w[10, j] = y[j] + h * (th * (1.0 - th) / (1.0 - 2.0 * d) * k1[j]
                                           + th * (th - 2.0 * d) / (1.0 - 2.0 * d) * k2[j])
                _record(t_out[iout], w[10], p, sel, obs, out_row[iout])
                iout += 1
            for j in range(n):
                y[j] = yn[j]
                f0[j] = f2[j]
            t = t_new
            fac = min(5.0, max(0.2, 0.8 * max(err, 1e-10) ** (-1.0 / 3.0)))
            if rejected:
                fac = min(fac, 1.0)
            h = min(h * fac, h_max)
            rejected = False
        else:
            fac = 0.1 if not err < math.inf else max(0.2, 0.8 * err ** (-1.0 / 3.0))
            h = h * fac
            rejected = True
            if h < 1e-14 * max(1.0, abs(t)):
                return STEP_TOO_SMALL, t, h, iout, steps
    return OK, t, h, iout, steps


@njit(cache=True)
def _record(t, y, p, sel, obs, row):
    observe(t, y, p, obs)
    for j in range(sel.shape[0]):
        row[j] = obs[sel[j]]


# --- per method: the code generator writes this part once per method, METHOD replaced ---


@njit(cache=True)
def _solve_one_METHOD(i, t0, t_out, y0, u0, p, ev_t, ev_kind, ev_idx, ev_val, ev_scale, rtol, atol, h_max,
                      max_steps, sel, out, y_end, u_end, w, obs):
    nt = t_out.shape[0]
    y = y0[i].copy()
    pi = p[i]
    u = u0[i].copy()
    t = t0
    t_end = t_out[nt - 1]
    iev = 0
    iout = 0
    h = 0.0
    total = 0
    n_ev = ev_t.shape[1]
    while True:
        before = iev
        iev = _apply_events(i, t, iev, y, u, pi, ev_t, ev_kind, ev_idx, ev_val, ev_scale)
        if iev != before:
            h = 0.0  # restart step selection after a discontinuity
        while iout < nt and t_out[iout] <= t:
            _record(t_out[iout], y, pi, sel, obs, out[i, iout])
            iout += 1
        if iout >= nt:
            y_end[i] = y
            u_end[i] = u
            return OK, total
        t_stop = t_end
        if iev < n_ev and ev_t[i, iev] < t_stop:
            t_stop = ev_t[i, iev]
        code, t, h, iout, steps = _METHOD_segment(t, t_stop, y, pi, u, h, rtol, atol, h_max, max_steps - total,
                                                  t_out, iout, out[i], w, sel, obs)
        total += steps
        if code != OK:
            for k in range(iout, nt):
                for j in range(sel.shape[0]):
                    out[i, k, j] = np.nan
            return code, total
        t = t_stop


@njit(cache=True, parallel=True)
def solve_batch_METHOD(t0, t_out, y0, u0, p, ev_t, ev_kind, ev_idx, ev_val, ev_scale, rtol, atol, h_max, max_steps,
                       sel, out, y_end, u_end, status, steps, n_chunks):
    n_patients = y0.shape[0]
    n = y0.shape[1]
    n_chunks = max(1, min(n_patients, n_chunks))
    for c in prange(n_chunks):
        w = np.empty((11, n))
        obs = np.empty(NOBS)
        for i in range(c * n_patients // n_chunks, (c + 1) * n_patients // n_chunks):
            status[i], steps[i] = _solve_one_METHOD(i, t0, t_out, y0, u0, p, ev_t, ev_kind, ev_idx, ev_val,
                                                    ev_scale, rtol, atol, h_max, max_steps, sel, out, y_end,
                                                    u_end, w, obs)
