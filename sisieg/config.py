"""``add_sisieg_config``: every SISeg option, with the paper's values as defaults."""
from detectron2.config import CfgNode as CN


def add_sisieg_config(cfg):
    """Add the ``MODEL.SISEG``, ``INPUT.SISEG``, ``SOLVER.SISEG`` and ``TEST.SISEG`` nodes."""
    cfg.MODEL.SISEG = CN()
    _C = cfg.MODEL.SISEG
    _C.NUM_CLASSES = 20  # instance ("thing") classes; semantic id k (1..NUM_CLASSES) is thing k-1
    _C.NUM_SEMANTIC_CLASSES = 21  # classes of the semantic mask, background (id 0) included
    _C.THING_SEMANTIC_IDS = []  # semantic ids of the thing classes in thing order; [] = 1..NUM_CLASSES
    _C.IGNORE_VALUE = 255  # semantic label of pixels that carry no label
    _C.INPUT_MODE = "mask"  # what the backbone sees: "mask" (paper), "image", "image+mask"
    _C.MASK_ENCODING = "color"  # mask as a 3-channel palette image ("color") or "onehot" channels
    _C.TRAIN_MASK_SOURCE = "ground_truth"  # mask fed in training: "ground_truth" or "segmenter"
    _C.GROUPING = "displacement"  # "displacement" (DFM + CBR, the method) or "connected_components"
    _C.IN_FEATURES = ["stem", "res2", "res3", "res4", "res5"]  # backbone levels C1..C5 for the heads
    _C.FREEZE_BACKBONE = True  # paper: frozen ImageNet backbone; False to train it (no weights here)

    _C.SEGMENTER = CN()
    _C.SEGMENTER.NAME = "oracle"  # registered frozen segmenter: "oracle" = ground-truth masks

    _C.DFM = CN()
    _C.DFM.LEVEL_CHANNELS = [64, 128, 256, 256, 256]  # 1x1 conv width per IN_FEATURES level (IRNet)
    _C.DFM.FUSE_CHANNELS = 256  # width after fusing the coarse levels and of the final block
    _C.DFM.LOSS_FG_WEIGHT = 1.0  # weight of L_D^fg (Eq. 9)
    _C.DFM.LOSS_BG_WEIGHT = 1.0  # weight of L_D^bg (Eq. 10)
    _C.DFM.BIAS_MOMENTUM = 0.99  # EMA momentum of the measured mean displacement (free constant)

    _C.CBR = CN()
    _C.CBR.CHANNELS = 32  # 1x1 conv width per level before the boundary logit (IRNet)
    _C.CBR.LOSS_WEIGHT = 1.0  # weight of L_B (Eq. 16)

    _C.PAIRS = CN()
    _C.PAIRS.TRAIN_RADIUS = 10  # half-disk radius gamma of training pairs, feature pixels (152 offsets)
    _C.PAIRS.TEST_RADIUS = 5  # radius of the random walk's affinities at inference (34 offsets)

    _C.INFERENCE = CN()
    _C.INFERENCE.REFINE_ITERS = 99  # displacement refinement iterations (Eq. 11)
    _C.INFERENCE.CENTROID_THRESHOLD = 2.5  # |D| below this (feature pixels) marks centroid regions
    _C.INFERENCE.RANDOM_WALK = True  # sharpen masks by the boundary-aware random walk (Eq. 17-18)
    _C.INFERENCE.RANDOM_WALK_BETA = 10.0  # affinity exponent beta
    _C.INFERENCE.RANDOM_WALK_STEPS = 256  # random-walk steps (Eq. 18)
    _C.INFERENCE.RANDOM_WALK_TOL = 0.0  # stop early once no score moves more than this; 0 = never
    _C.INFERENCE.BACKGROUND_SCORE = 0.25  # background score against walk scores normalised to max 1
    _C.INFERENCE.WITHIN_SEMANTIC_REGION = True  # walk never crosses a change of semantic class
    _C.INFERENCE.SPLIT_BY_SEMANTIC_CONNECTIVITY = True  # an instance never joins unconnected regions
    _C.INFERENCE.MIN_AREA = 16  # instances smaller than this (input pixels) are dropped

    cfg.INPUT.SISEG = CN()
    cfg.INPUT.SISEG.CROP_SIZE = 512  # training crop (paper: 512x512); 0 = no crop
    cfg.INPUT.SISEG.SCALE_RANGE = [0.75, 1.25]  # random rescale factors of training images
    cfg.INPUT.SISEG.HFLIP = True  # random horizontal flip in training

    cfg.SOLVER.SISEG = CN()
    cfg.SOLVER.SISEG.DFM_LR_MULTIPLIER = 0.5  # DFM learning rate = this x BASE_LR (paper 0.5)
    cfg.SOLVER.SISEG.POLY_POWER = 0.9  # power of the poly learning-rate schedule

    cfg.TEST.SISEG = CN()
    cfg.TEST.SISEG.NETWORK_ONLY_SPEED = False  # time only the networks (no post-processing) in FPS
    return cfg
