"""Drug effects on neutrophil progenitors (MODEL_SPEC §8.2), one instance per drug; need a ``toxicity`` model."""

from .emax import EmaxMyelosuppression as EmaxMyelosuppression
from .linear import LinearMyelosuppression as LinearMyelosuppression
