"""`core` has no tables: only abstract models, which the apps' models inherit.

This module exists so that Django sends `post_migrate` for core (see `CoreConfig.ready`).
"""

from .audience import AudienceMixin

__all__ = ["AudienceMixin"]
