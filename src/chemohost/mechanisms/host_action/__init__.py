"""What an adjuvant agent does to the host response (per-agent option ``host_action``)."""

from .coverage import Coverage as Coverage
from .gcsf_support import GcsfSupport as GcsfSupport
