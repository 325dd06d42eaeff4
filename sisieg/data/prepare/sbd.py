"""Reading SBD's class labels: ``cls/<stem>.mat``, MATLAB struct ``GTcls`` whose field
``Segmentation`` is the (H, W) uint8 class-id map (0 = background, 1..20 VOC classes)."""
import numpy as np
from scipy.io import loadmat

NUM_VOC_CLASSES = 20
VOID = 255


def read_sbd_segmentation(path) -> np.ndarray:
    """(H, W) uint8 class ids of ``GTcls.Segmentation``; ValueError naming ``path`` when the
    struct, its field or the ids are not as expected."""
    try:
        gt = loadmat(str(path), variable_names=["GTcls"], squeeze_me=True, struct_as_record=False)
        labels = np.asarray(gt["GTcls"].Segmentation)
    except (KeyError, AttributeError) as error:
        raise ValueError(f"{path}: no GTcls.Segmentation (not an SBD cls file?)") from error
    if labels.ndim != 2:
        raise ValueError(f"{path}: GTcls.Segmentation is {labels.shape}, expected (H, W)")
    labels = labels.astype(np.int64)
    bad = np.unique(labels[((labels < 0) | (labels > NUM_VOC_CLASSES)) & (labels != VOID)])
    if bad.size:
        raise ValueError(f"{path}: class ids {bad[:10].tolist()} outside 0..{NUM_VOC_CLASSES}")
    return labels.astype(np.uint8)
