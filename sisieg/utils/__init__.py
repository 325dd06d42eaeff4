"""Small utilities shared across the package."""
from .stage_timer import STAGES, StageTimer

__all__ = ["STAGES", "StageTimer"]
