"""Small utilities shared across the package."""
from .stage_timer import STAGES, StageTimer, synchronize

__all__ = ["STAGES", "StageTimer", "synchronize"]
