"""The contract's vocabularies, as seen from the feature code: :mod:`bundle.vocab`.

The vocabularies belong to the study-bundle contract and live in :mod:`bundle.vocab`; this module
re-exports them unchanged so feature code can keep writing ``from features.vocab import ...``.
"""

from __future__ import annotations

from bundle.vocab import *  # noqa: F403
from bundle.vocab import __all__  # noqa: F401
