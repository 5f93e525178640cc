"""Distributions of a trial's covariates and targets, and the strict pydantic bases of the trial schema."""

from __future__ import annotations

import math
from typing import Literal

import numpy as np
from pydantic import BaseModel, ConfigDict, Field, model_validator

__all__ = ["Distribution"]


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


class _Provenance(_Strict):
    tag: Literal["V", "V-code", "C", "U", "proposed"]
    source: str = Field(min_length=1)


class Distribution(_Provenance):
    """A normal (``mean``, ``sd``) or log-normal (``median``, ``sdlog``) distribution of one observable."""

    distribution: Literal["normal", "lognormal"]
    mean: float | None = None
    sd: float | None = Field(default=None, gt=0)
    median: float | None = Field(default=None, gt=0)
    sdlog: float | None = Field(default=None, gt=0)

    @model_validator(mode="after")
    def _complete(self):
        need = ("mean", "sd") if self.distribution == "normal" else ("median", "sdlog")
        other = ("median", "sdlog") if self.distribution == "normal" else ("mean", "sd")
        missing = [k for k in need if getattr(self, k) is None]
        if missing:
            raise ValueError(f"a {self.distribution} distribution needs {' and '.join(need)}; missing {missing[0]}")
        extra = [k for k in other if getattr(self, k) is not None]
        if extra:
            raise ValueError(f"a {self.distribution} distribution takes {' and '.join(need)}, not {extra[0]}")
        return self

    def sample(self, rng: np.random.Generator, n: int) -> np.ndarray:
        z = rng.standard_normal(n)
        return self.mean + self.sd * z if self.distribution == "normal" else self.median * np.exp(self.sdlog * z)

    def logpdf(self, x: np.ndarray) -> np.ndarray:
        """Log density at ``x`` (on the observable's own scale)."""
        x = np.asarray(x, float)
        if self.distribution == "normal":
            return -0.5 * ((x - self.mean) / self.sd) ** 2 - math.log(self.sd * math.sqrt(2 * math.pi))
        z = (np.log(x) - math.log(self.median)) / self.sdlog
        return -0.5 * z**2 - np.log(x * self.sdlog * math.sqrt(2 * math.pi))

    def cdf(self, x: float) -> float:
        if x <= 0 and self.distribution == "lognormal":
            return 0.0
        if math.isinf(x):
            return 1.0 if x > 0 else 0.0
        z = (x - self.mean) / self.sd if self.distribution == "normal" else (math.log(x) - math.log(self.median)) / self.sdlog
        return 0.5 * math.erfc(-z / math.sqrt(2))
