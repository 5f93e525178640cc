"""The host's anti-tumour immune response (model option ``immune``).

- ``de_pillis_2006``: NK cells, tumour-specific CD8+ T cells and circulating
  lymphocytes (de Pillis, Gu & Radunskaya 2006), killing the tumour through its
  summed kill hazard and killed by every drug of the model.
"""

from .de_pillis_2006 import DePillis2006 as DePillis2006
