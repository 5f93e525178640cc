"""In-silico trials: virtual patients simulated in every arm, endpoints per (patient, arm), read-outs and scores.

The read-outs (:mod:`chemohost.trial._readouts`) and the host-response score (:mod:`chemohost.trial._score`)
import :mod:`chemohost.outcomes` and so sit in the analysis layer; they are exported by :mod:`chemohost.report`.
"""
