"""The embedded synthetic dataset: shapes whose same-class instances touch and occlude."""
from .crowded import crowded_scene
from .generator import GENERATOR_VERSION, ensure_split, generate_split, image_rng, split_paths
from .shapes import SHAPE_CLASSES, Scene, draw_scene, touching_flags

__all__ = [
    "GENERATOR_VERSION",
    "SHAPE_CLASSES",
    "Scene",
    "crowded_scene",
    "draw_scene",
    "ensure_split",
    "generate_split",
    "image_rng",
    "split_paths",
    "touching_flags",
]
