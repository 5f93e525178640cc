"""chemohost's JAX backend against plain vmapped diffrax on whatever device JAX sees (a GPU when present).

Both peers integrate the same equations (printed from the same declarations),
the same regimen and tolerances, in one invocation:

- ``chemohost``: ``chemohost.simulate(..., backend="jax")`` — the batched
  Dormand–Prince of :mod:`chemohost.engine._jax_kernel`, every patient with its
  own events and step size, chunked by device memory, only the requested
  outputs at the requested times kept on the device;
- ``diffrax``: ``chemohost.engine._jax.simulate_diffrax`` — ``diffrax.diffeqsolve``
  (Tsit5, PID controller) under ``jax.jit(jax.vmap(...))``, one chunk of the same
  size at a time, the regimen's doses applied between segments.

For each model, engine and size the script first runs one chunk to compile
(reported as *compile*), then times one call over the whole batch (*solve*).
Device memory is the device's peak as JAX reports it (GPU), else the process's
peak RSS. On a machine without a GPU it runs the small sizes only and says so.

    python benchmarks/bench_gpu.py                                 # all defaults
    python benchmarks/bench_gpu.py --sizes 1e4,1e5,1e6 --models reference,paclitaxel --save final
"""

from __future__ import annotations

import argparse
import os
import resource
import sys
import time

import numpy as np

sys.path.insert(0, os.path.dirname(__file__))
from bench_engine import BODY_WEIGHT, REGIMEN, paclitaxel_case, reference_case  # noqa: E402

DAYS = 84.0
RTOL, ATOL = 1e-6, 1e-9


def _device():
    import jax

    jax.config.update("jax_enable_x64", True)
    return jax, jax.devices()[0]


def _memory(device) -> str:
    try:
        stats = device.memory_stats() or {}
    except Exception:
        stats = {}
    if "peak_bytes_in_use" in stats:
        return f"{stats['peak_bytes_in_use'] / 2**30:.2f} GiB device"
    return f"{resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 2**20:.2f} GiB RSS"


def _times(save: str) -> np.ndarray:
    return np.array([DAYS]) if save == "final" else np.arange(0.0, DAYS + 1e-9, 1.0)


def _run(engine: str, model, parameters: dict, n: int, times: np.ndarray, chunk: int, dtype: str):
    import chemohost as ch

    if engine == "chemohost":
        return ch.simulate(model, REGIMEN, parameters, times, covariates={"Body weight [kg]": BODY_WEIGHT},
                           n_patients=n, rtol=RTOL, atol=ATOL, backend="jax", dtype=dtype,
                           save=["Tumour volume [mm3]"])["Tumour volume [mm3]"].values
    from chemohost.engine._jax import simulate_diffrax

    index = model.state_names.index("Tumour volume [mm3]") if "Tumour volume [mm3]" in model.state_names else 0
    return simulate_diffrax(model, REGIMEN, parameters, times, covariates={"Body weight [kg]": BODY_WEIGHT},
                            n_patients=n, rtol=RTOL, atol=ATOL, solver="Tsit5", chunk_size=chunk)[:, :, index]


def _case(name: str, n: int, seed: int):
    model, parameters = (reference_case if name == "reference" else paclitaxel_case)(n, seed)
    return model, parameters


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--sizes", default=None, help="comma-separated batch sizes (default: 1e4,1e5,1e6,1e7 on a "
                        "GPU, 1e3,1e4 on a CPU)")
    parser.add_argument("--models", default="reference,paclitaxel", help="reference,paclitaxel")
    parser.add_argument("--engines", default="chemohost,diffrax", help="chemohost,diffrax")
    parser.add_argument("--save", choices=("final", "daily"), default="final",
                        help="keep the final state only (default) or daily outputs")
    parser.add_argument("--dtype", choices=("float64", "float32"), default="float64")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--host-memory-fraction", type=float, default=0.3,
                        help="skip a size whose parameter matrix needs more than this share of host memory")
    args = parser.parse_args(argv)
    try:
        jax, device = _device()
    except ImportError:
        print("bench_gpu: JAX is not installed (pip install 'chemohost[jax]'); nothing to measure")
        return 0
    gpu = device.platform != "cpu"
    sizes = [int(float(s)) for s in (args.sizes or ("1e4,1e5,1e6,1e7" if gpu else "1e3,1e4")).split(",")]
    if not gpu:
        print("bench_gpu: no GPU visible to JAX; running on the CPU with the small sizes "
              f"({', '.join(f'{s:.0e}' for s in sizes)})")
    print(f"device: {device.device_kind} ({device.platform}); jax {jax.__version__}; dtype {args.dtype}; "
          f"{DAYS:g} days, {REGIMEN}; rtol {RTOL:g}, atol {ATOL:g}; outputs: {args.save}")
    times = _times(args.save)
    host_bytes = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES")
    header = f"{'model':<11}{'patients':>10}  {'engine':<10}{'compile s':>10}{'solve s':>10}{'patients/s':>13}  memory"
    for name in args.models.split(","):
        model, _ = _case(name, 2, args.seed)
        from chemohost.engine._jax_kernel import jax_kernel

        kernel = jax_kernel(model, args.dtype)
        print(f"\n{name}: {len(model.states)} states, {len(model.parameters)} parameters\n{header}")
        for n in sizes:
            if n * len(model.parameters) * 8 * 3 > args.host_memory_fraction * host_bytes:
                print(f"{name:<11}{n:>10.0e}  skipped: the parameter matrix would not fit in host memory")
                continue
            model, parameters = _case(name, n, args.seed)
            chunk = min(n, kernel.chunk_size(max(16, times.size), 16, 1))
            rate = {}
            for engine in args.engines.split(","):
                warm = {k: (v[:chunk] if np.ndim(v) else v) for k, v in parameters.items()}
                t = time.perf_counter()
                _run(engine, model, warm, chunk, times, chunk, args.dtype)
                compile_s = time.perf_counter() - t
                t = time.perf_counter()
                volume = _run(engine, model, parameters, n, times, chunk, args.dtype)
                solve_s = time.perf_counter() - t
                rate[engine] = n / solve_s
                bad = int(np.count_nonzero(~np.isfinite(volume[:, -1])))
                print(f"{name:<11}{n:>10.0e}  {engine:<10}{compile_s:>10.2f}{solve_s:>10.3f}{rate[engine]:>13,.0f}  "
                      f"{_memory(device)}" + (f"  ({bad} failed)" if bad else ""), flush=True)
            if len(rate) == 2:
                print(f"{'':<23}chemohost / diffrax: {rate['chemohost'] / rate['diffrax']:.2f}x")
    return 0


if __name__ == "__main__":
    sys.exit(main())
