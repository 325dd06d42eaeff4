"""From the heads' outputs to Detectron2 ``Instances``, in the order of the steps:

- ``components``: connected components of the semantic mask, the regions every grouping works in;
- ``refinement``: following the displacement field (bilinear sampling, Euler steps);
- ``center_votes``: the default grouping (votes, modes, nearest mode at full resolution);
- ``irnet_grouping``: the paper's grouping (centroid regions |D| < tau);
- ``random_walk`` (+ ``walk_packing``): the boundary-aware walk, optional;
- ``instances``: ``InstanceInference``, which runs them and builds the ``Instances``.
docs/METHOD.md, sections 7-11.
"""
from .components import connected_components, semantic_components
from .instances import InstanceInference

__all__ = ["InstanceInference", "connected_components", "semantic_components"]
