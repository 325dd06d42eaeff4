"""Inference primitives: refinement, centroids, connected components and the random walk."""
from .centroids import assign_to_centroids, find_centroid_regions
from .connected_components import connected_components
from .random_walk import full_disk_offsets, neighbour_affinity, random_walk
from .refinement import refine_displacement

__all__ = [
    "assign_to_centroids",
    "connected_components",
    "find_centroid_regions",
    "full_disk_offsets",
    "neighbour_affinity",
    "random_walk",
    "refine_displacement",
]
