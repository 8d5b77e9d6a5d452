"""Contracts shared by every service of the payments MLOps platform.

Import models from their modules (`contracts.schemas.normalized_event`), topics from
`contracts.topics` and reference data from `contracts.reference`.
"""

from contracts.version import __version__

__all__ = ["__version__"]
