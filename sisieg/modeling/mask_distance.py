"""How far each pixel is from another label: the mask's distance transform as an input channel.

Where two touching objects of one class meet, the semantic mask shows only a neck; its
distance transform shows it as a saddle between two peaks (the cue of the classical
watershed split). The network could learn it, but its full-resolution layers see a few
pixels around each one; given as an input channel, the neck's width and the objects'
thickness are there at every pixel. It is a function of the mask alone (no label is read),
so predicted masks get it the same way as ground-truth ones.

OpenCV's distance transform (Euclidean, 5x5 chamfer mask: symmetric under the flips and
transposes of field augmentation) runs on the CPU, image by image: 0.3 ms for a 256² mask,
against 8 ms for one max-pool step of the batch in PyTorch on the CPU. Masks on a GPU make
one round trip.
"""
import cv2
import numpy as np
import torch

from .targets import boundary_of


@torch.no_grad()
def label_distance(labels: torch.Tensor, cap: float) -> torch.Tensor:
    """(N, 1, H, W) float in [0, 1]: for labels (N, H, W), each pixel's Euclidean distance in
    pixels to the nearest pixel with a 4-neighbour of another label (0 on such pixels), capped
    at ``cap`` and divided by it. The image edge is no other label (a mask with one label
    everywhere is at the cap)."""
    away = (boundary_of(labels) == 0).to(torch.uint8).cpu().numpy()
    out = np.empty(away.shape, np.float32)
    for i, image in enumerate(away):  # a loop over the images of the batch
        out[i] = cv2.distanceTransform(image, cv2.DIST_L2, 5) if not image.all() else cap
    distance = torch.from_numpy(out).to(labels.device)
    return (distance.clamp(max=cap) / float(cap))[:, None]
