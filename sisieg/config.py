"""``add_sisieg_config``: every SISeg option, with the paper's values as defaults; and what is
derived from them (``thing_semantic_ids``)."""
from detectron2.config import CfgNode as CN


def add_sisieg_config(cfg):
    """Add the ``MODEL.SISEG``, ``INPUT.SISEG``, ``SOLVER.SISEG`` and ``TEST.SISEG`` nodes and
    ``DATASETS.SISEG_COCO``."""
    cfg.MODEL.SISEG = CN()
    _C = cfg.MODEL.SISEG
    _C.NUM_CLASSES = 20  # instance ("thing") classes; semantic id k (1..NUM_CLASSES) is thing k-1
    _C.NUM_SEMANTIC_CLASSES = 21  # classes of the semantic mask, background (id 0) included
    _C.THING_SEMANTIC_IDS = []  # semantic ids of the thing classes in thing order; [] = 1..NUM_CLASSES
    _C.IGNORE_VALUE = 255  # semantic label of pixels that carry no label
    _C.INPUT_MODE = "mask"  # what the backbone sees: "mask" (paper), "image", "image+mask"
    _C.IMAGE_DROPOUT = 0.0  # training, INPUT_MODE "image+mask": share of images shown as the mean image (the mask alone); nuclei 0.5: 94.3 / 85.1 against 93.4 / 79.2 (mask alone 95.5 / 88.6)
    _C.MASK_ENCODING = "color"  # mask as a 3-channel palette image ("color") or "onehot" channels
    _C.MASK_DISTANCE_CAP = 0.0  # > 0: one more input channel, each pixel's distance to another label / this cap (px)
    _C.TRAIN_MASK_SOURCE = "ground_truth"  # mask fed in training: "ground_truth" or "segmenter"
    _C.TRAIN_PRECISION = "float32"  # training networks: "float32", "bfloat16" autocast, "auto" (bfloat16 where native)
    _C.SUPERVISION = "semantic"  # "semantic" (paper), "instance", "mixed", "label_free" (pasted isolated objects)
    _C.GROUPING = "votes"  # "votes" (centre votes, lossless), "irnet" (paper), "connected_components"
    _C.ORACLE_HEADS = False  # evaluation: replace the heads' outputs by targets from the GT instances
    _C.IN_FEATURES = ["stem", "res2", "res3", "res4", "res5"]  # backbone levels C1..C5 for the heads
    _C.FREEZE_BACKBONE = True  # paper: frozen ImageNet backbone; False to train it (no weights here)
    _C.PARTIAL_WEIGHTS = False  # evaluation: True lets MODEL.WEIGHTS miss / add keys (logged, not an error)

    _C.LIGHT_BACKBONE = CN()  # MODEL.BACKBONE.NAME "build_sisieg_light_backbone" (sisieg/modeling/backbones)
    _C.LIGHT_BACKBONE.WIDTHS = [32, 32, 64, 128, 256]  # channels of stem (stride 4), res2 (4), res3 (8), res4 (16), res5 (32)
    _C.LIGHT_BACKBONE.BLOCKS = [1, 1, 1, 1]  # basic residual blocks in res2..res5

    _C.SEGMENTER = CN()
    _C.SEGMENTER.NAME = "oracle"  # "oracle" (ground truth), "files", "detectron2" or "torchvision"
    _C.SEGMENTER.FILES_DIR = ""  # "files": folder of <image stem>.png class ids (original size)
    _C.SEGMENTER.FILES_PROBS = False  # "files": also read <image stem>.npy (C, H, W) probabilities
    _C.SEGMENTER.D2_CONFIG = ""  # "detectron2": the semantic model's own Detectron2 config file
    _C.SEGMENTER.D2_WEIGHTS = ""  # "detectron2": its checkpoint (.pth / .pkl)
    _C.SEGMENTER.TORCHVISION_ARCH = "deeplabv3_resnet50"  # "torchvision": model, e.g. lraspp_mobilenet_v3_large
    _C.SEGMENTER.TORCHVISION_WEIGHTS = ""  # "torchvision": its local state_dict file
    _C.SEGMENTER.TORCHVISION_CLASS_MAP = []  # dataset id per VOC class, -1 = background; [] = VOC ids

    _C.DFM = CN()
    _C.DFM.NAME = "irnet"  # registered head (sisieg/modeling/heads): "irnet" (paper, stride 4) or "fine"
    _C.DFM.OUTPUT_STRIDE = 1  # "fine": input pixels per output pixel (1, 2 or 4)
    _C.DFM.FINE_CHANNELS = 32  # "fine": width of its full-resolution layers
    _C.DFM.OUTPUT_SCALE = 1.0  # "fine": the predictor's output times this (offsets of tens of pixels)
    _C.DFM.LEVEL_CHANNELS = [64, 128, 256, 256, 256]  # 1x1 conv width per IN_FEATURES level (IRNet)
    _C.DFM.FUSE_CHANNELS = 256  # width after fusing the coarse levels and of the final block
    _C.DFM.LOSS_FG_WEIGHT = 1.0  # weight of L_D^fg (Eq. 9)
    _C.DFM.LOSS_BG_WEIGHT = 1.0  # weight of L_D^bg (Eq. 10)
    _C.DFM.LOSS_OFFSET_WEIGHT = 1.0  # weight of the L1 loss to true centroid offsets (instance labels)
    _C.DFM.OFFSET_AREA_POWER = 0.0  # offset-loss pixel weight area^-p: 0 plain mean, 1 every instance equal
    _C.DFM.OFFSET_CONTACT_WEIGHT = 0.0  # offset-loss pixels near another instance weigh 1 + this; 0 = off
    _C.DFM.OFFSET_CONTACT_RADIUS = 4  # ... "near": within this many head pixels (square window)
    _C.DFM.BIAS_MOMENTUM = 0.99  # EMA momentum of the measured mean displacement (free constant)

    _C.CBR = CN()
    _C.CBR.NAME = "irnet"  # registered boundary head (sisieg/modeling/heads): "irnet" (paper)
    _C.CBR.CHANNELS = 32  # 1x1 conv width per level before the boundary logit (IRNet)
    _C.CBR.LOSS_WEIGHT = 1.0  # weight of L_B (Eq. 16)

    _C.CENTER = CN()  # an optional centre head (sisieg/modeling/heads/center_heatmap.py): centres = its peaks
    _C.CENTER.NAME = ""  # registered centre head: "heatmap"; "" = none, the centres are the modes of the votes
    _C.CENTER.CHANNELS = 32  # width of its 3x3 layer (its own IRNet fusion: DFM.LEVEL_CHANNELS, FUSE_CHANNELS)
    _C.CENTER.SIGMA = 4.0  # standard deviation of the target Gaussians around the centroids, input pixels
    _C.CENTER.LOSS_WEIGHT = 1.0  # weight of its focal loss (instance ids needed: not with SUPERVISION "semantic")
    _C.CENTER.THRESHOLD = 0.3  # inference: a peak needs this centre probability
    _C.CENTER.NMS_RADIUS = 3  # inference: a peak is the maximum within this many input pixels
    _C.CENTER.LINK_RADIUS = 8.0  # inference: a component takes a peak when VOTES.MIN_MASS of its votes land this close (input px)

    _C.PAIRS = CN()
    _C.PAIRS.TRAIN_RADIUS = 10  # half-disk radius gamma of training pairs, feature pixels (152 offsets)

    _C.ORACLE = CN()  # the perfect heads of ORACLE_HEADS, optionally degraded (robustness curve)
    _C.ORACLE.NOISE = 0.0  # i.i.d. Gaussian noise (std, input pixels) added to the perfect field
    _C.ORACLE.BOUNDARY = "perfect"  # boundary map: "perfect", "blurred" (3x3 box, twice) or "missing" (0)
    _C.ORACLE.SEED = 0  # seed of the noise (per image: drawn from this and a hash of its file name)

    _C.VOTES = CN()  # GROUPING "votes" (sisieg/modeling/postprocessing/center_votes.py)
    _C.VOTES.STEPS = 1  # Euler steps pixel -> pixel + D (1: Panoptic-DeepLab's one step)
    _C.VOTES.BIN_SIZE = 1.0  # side of a vote bin, input pixels (smaller: closer centres kept apart)
    _C.VOTES.DENSITY_RADIUS = 1  # vote density = votes in the (2r+1)^2 bins around a bin
    _C.VOTES.CLIMB_RADIUS = 2  # a bin climbs to the densest bin within this many bins
    _C.VOTES.MIN_MASS = 16.0  # a mode needs this many voting input pixels to be a centre
    _C.VOTES.SADDLE_RADIUS = 8  # modes closer than this many bins may join over a saddle
    _C.VOTES.SADDLE_RATIO = 0.5  # ... when the density between never drops below this x the lower peak; 0 = off
    _C.VOTES.MERGE_RADIUS = 1.0  # pieces of one class whose centres agree this well (input px) join; 0 = never

    _C.INFERENCE = CN()
    _C.INFERENCE.FIELD_AUGMENTATIONS = 1  # heads averaged over 1 / 2 / 4 / 8 flips and transposes of the input
    _C.INFERENCE.REFINE_ITERS = 99  # GROUPING "irnet": displacement refinement iterations (Eq. 11)
    _C.INFERENCE.CENTROID_THRESHOLD = 2.5  # "irnet": |D| below this (feature pixels) marks centroid regions (IRNet)
    _C.INFERENCE.CENTROID_RELATIVE_THRESHOLD = 0.3  # x object radius sqrt(area/pi), capped by the above; 0 = off
    _C.INFERENCE.CENTROID_MIN_THRESHOLD = 0.75  # floor of the relative threshold (feature pixels)
    _C.INFERENCE.RANDOM_WALK = False  # spread masks by the boundary-aware walk (Eq. 17-18; paper: True)
    _C.INFERENCE.RANDOM_WALK_RADIUS = 5  # radius of the walk's affinities, head pixels (paper: 5)
    _C.INFERENCE.RANDOM_WALK_BETA = 10.0  # affinity exponent beta
    _C.INFERENCE.RANDOM_WALK_STEPS = 256  # random-walk steps (Eq. 18)
    _C.INFERENCE.RANDOM_WALK_TOL = 0.0  # stop early once no score moves more than this; 0 = never
    _C.INFERENCE.BACKGROUND_SCORE = 0.25  # background score vs normalised walk scores (walk beyond the mask)
    _C.INFERENCE.SCORE_NORMALIZATION = "instance"  # walk scores / each instance's max, or "global" (IRNet)
    _C.INFERENCE.WITHIN_SEMANTIC_REGION = True  # walk and masks stay inside the semantic mask's classes
    _C.INFERENCE.SPLIT_BY_SEMANTIC_CONNECTIVITY = True  # an instance never joins unconnected regions
    _C.INFERENCE.MIN_AREA = 16  # instances smaller than this (input pixels) are dropped
    _C.INFERENCE.MAX_INPUT_PIXELS = 16_000_000  # larger network inputs are an error (memory); 0 = no limit

    cfg.INPUT.SISEG = CN()
    cfg.INPUT.SISEG.RESIZE_LONG_EDGE = 0  # training: resize the long edge to this first (ADE20K 512); 0 = no
    cfg.INPUT.SISEG.CROP_SIZE = 512  # training crop (paper: 512x512); 0 = no crop
    cfg.INPUT.SISEG.SCALE_RANGE = [0.75, 1.25]  # random rescale factors of training images
    cfg.INPUT.SISEG.HFLIP = True  # random horizontal flip in training
    cfg.INPUT.SISEG.INSTANCE_LABEL_FRACTION = 1.0  # share of images keeping instance labels (mixed; the rest: label-free ids)
    cfg.INPUT.SISEG.SKIP_UNREADABLE_IMAGES = False  # True: skip (and list) images that cannot be read
    cfg.INPUT.SISEG.MASK_CORRUPTION = CN()  # errors drawn on the mask SISeg sees in training (sisieg/data/mask_corruption.py)
    cfg.INPUT.SISEG.MASK_CORRUPTION.OPS = []  # any of "jitter", "erode_dilate", "holes", "blobs", "class_swap"; [] = none
    cfg.INPUT.SISEG.MASK_CORRUPTION.PROBABILITY = 0.5  # chance of each operation on a training image
    cfg.INPUT.SISEG.MASK_CORRUPTION.RADIUS = 3  # erode_dilate: largest radius in pixels
    cfg.INPUT.SISEG.MASK_CORRUPTION.COUNT = 3  # holes / blobs: largest number per image
    cfg.INPUT.SISEG.MASK_CORRUPTION.BLOB_SIZE = [4.0, 16.0]  # holes / blobs: diameter range in pixels
    cfg.INPUT.SISEG.MASK_CORRUPTION.SWAP_PROBABILITY = 0.2  # class_swap: chance of each connected region of things
    cfg.INPUT.SISEG.MASK_CORRUPTION.JITTER = 3.0  # jitter: largest boundary displacement in pixels
    cfg.INPUT.SISEG.COMPOSITES = CN()  # SUPERVISION "label_free" (sisieg/data/composites.py)
    cfg.INPUT.SISEG.COMPOSITES.SHARE = 0.5  # share of training images turned into composites
    cfg.INPUT.SISEG.COMPOSITES.PASTES = 4  # isolated objects pasted into a composite, at least ...
    cfg.INPUT.SISEG.COMPOSITES.PASTES_PER_OBJECT = 0.5  # ... or this x its isolated objects (crowded scenes)
    cfg.INPUT.SISEG.COMPOSITES.MIN_SOLIDITY = 0.9  # a component this convex (holes filled) is one object
    cfg.INPUT.SISEG.COMPOSITES.MIN_AREA = 20  # ... and at least this many pixels
    cfg.INPUT.SISEG.COMPOSITES.CONTACT = [0.6, 1.0]  # centre distance / sum of radii (< 1: overlap)
    cfg.INPUT.SISEG.COMPOSITES.SCALE_RANGE = [0.75, 1.25]  # random rescale of a pasted object
    cfg.INPUT.SISEG.COMPOSITES.BLEND = "cover"  # a pasted object's pixels: "cover" the scene's (opaque), "add" its light to theirs (fluorescence; nuclei, image+mask: 94.9 / 86.9 against 94.3 / 85.1)
    cfg.INPUT.SISEG.COMPOSITES.LABELLED = False  # SUPERVISION "instance" / "mixed": the labelled images become composites too, pasting their annotated instances
    cfg.INPUT.SISEG.COMPOSITES.PROXY_LABELS = ""  # self-training: folder of tools/proxy_labels.py's ids; "" = none

    cfg.SOLVER.SISEG = CN()
    cfg.SOLVER.SISEG.OPTIMIZER = "SGD"  # "SGD" (paper; SOLVER.MOMENTUM, NESTEROV) or "AdamW"
    cfg.SOLVER.SISEG.DFM_LR_MULTIPLIER = 0.5  # DFM learning rate = this x BASE_LR (paper 0.5)
    cfg.SOLVER.SISEG.POLY_POWER = 0.9  # power of the poly learning-rate schedule
    cfg.SOLVER.SISEG.WEIGHT_AVERAGE_DECAY = 0.0  # > 0: model_final (and the evaluation) = a moving average of the weights, this decay a step (sisieg/engine/weight_average.py); 0 = the last iterate
    cfg.SOLVER.SISEG.TRAIN_MINUTES = 0.0  # > 0: MAX_ITER lowered to what fits in this many minutes here (measured first); 0 = exactly MAX_ITER

    # Extra COCO-format datasets, registered by build_config: [name, json_file, image_root,
    # sem_seg_root] entries; relative paths are under $DETECTRON2_DATASETS; sem_seg_root ""
    # = no semantic PNGs, masks painted from the instance annotations (sisieg.data.rasterize).
    cfg.DATASETS.SISEG_COCO = []  # e.g. [["my_val", "my/val.json", "my/images", ""]]

    # The segmenters trained here (Detectron2's SemanticSegmentor, HardPixelSemSegFPNHead):
    cfg.MODEL.SEM_SEG_HEAD.LOSS_TOP_K = 1.0  # share of the hardest pixels the loss averages (1.0 = all)
    cfg.MODEL.SEM_SEG_HEAD.FINE_FEATURE = "input"  # FineSemSegFPNHead: the stride-1 backbone output it refines with
    cfg.MODEL.SEM_SEG_HEAD.FINE_CHANNELS = 16  # ... width of its full-resolution layers

    cfg.TEST.SISEG = CN()
    cfg.TEST.SISEG.NETWORK_ONLY_SPEED = False  # stop after the networks: times them alone, AP meaningless
    return cfg


def thing_semantic_ids(cfg) -> list:
    """The semantic ids of the thing classes in thing order: ``MODEL.SISEG.THING_SEMANTIC_IDS``,
    or 1..NUM_CLASSES when it is empty."""
    s = cfg.MODEL.SISEG
    return list(s.THING_SEMANTIC_IDS) or list(range(1, s.NUM_CLASSES + 1))
