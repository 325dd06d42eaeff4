"""The SISeg meta-architecture: outputs, frozen parts, training steps, optimizer groups."""
import copy

import pytest
import torch
from detectron2.modeling import build_model

from sisieg.engine import Trainer, build_config
from sisieg.modeling.input_encoding import InputEncoder, label_palette
from sisieg.modeling.segmenters import SemanticPrediction

CONFIG = "configs/shapes/siseg_label_free.yaml"
PAIR_LOSSES = ("MODEL.SISEG.DFM.LOSS_FG_WEIGHT", "1.0", "MODEL.SISEG.DFM.LOSS_BG_WEIGHT", "1.0",
               "MODEL.SISEG.CBR.LOSS_WEIGHT", "1.0")  # the paper's losses: off in the recipe


def small_config(*opts):
    return build_config(CONFIG, ["MODEL.DEVICE", "cpu", *opts])


def scene(height, width, seed=0):
    """An image and a semantic mask with a few class-1/class-2 rectangles, some touching."""
    g = torch.Generator().manual_seed(seed)
    sem = torch.zeros(height, width, dtype=torch.long)
    sem[height // 4: height // 2, width // 8: width // 2] = 1
    sem[height // 4: height // 2, width // 2: 7 * width // 8] = 1  # touches the first
    sem[2 * height // 3: height - 4, width // 3: 2 * width // 3] = 2
    image = torch.randint(0, 255, (3, height, width), generator=g, dtype=torch.uint8)
    return {"image": image, "sem_seg": sem, "height": height, "width": width, "file_name": f"s{seed}"}


@pytest.fixture(scope="module")
def model():
    torch.manual_seed(0)
    return build_model(small_config()).eval()


@pytest.mark.parametrize("size", [(64, 64), (75, 93), (33, 130)])
def test_outputs_at_original_resolution(model, size):
    record = scene(*size)
    record["height"], record["width"] = size[0] * 2, size[1] * 3 // 2  # as if the mapper resized
    with torch.no_grad():
        (output,) = model([record])
    instances = output["instances"]
    out_size = (record["height"], record["width"])
    assert instances.image_size == out_size
    assert instances.pred_masks.shape[1:] == out_size and instances.pred_masks.dtype == torch.bool
    assert instances.pred_classes.dtype == torch.long
    assert set(instances.pred_classes.tolist()) <= {0, 1}  # semantic ids 1, 2 -> things 0, 1
    assert torch.isfinite(instances.scores).all() and len(instances) >= 2
    assert output["sem_seg"].shape == (5, *out_size)
    assert torch.equal(output["sem_seg"].argmax(0)[: size[0] * 2 : 2, ::3][: size[0]].bool().any(), torch.tensor(True))


def test_all_background_gives_no_instances(model):
    record = scene(64, 64)
    record["sem_seg"].zero_()
    with torch.no_grad():
        (output,) = model([record])
    assert len(output["instances"]) == 0
    assert output["instances"].pred_masks.shape == (0, 64, 64)


def test_connected_components_grouping_merges_the_touching_pair():
    torch.manual_seed(0)
    model = build_model(small_config("MODEL.SISEG.GROUPING", "connected_components")).eval()
    with torch.no_grad():
        (output,) = model([scene(64, 64)])
    assert len(output["instances"]) == 2  # the touching class-1 pair is one component


def test_training_lowers_the_loss_and_leaves_frozen_weights_alone():
    torch.manual_seed(0)
    model = build_model(small_config("MODEL.SISEG.FREEZE_BACKBONE", "True", "MODEL.SISEG.SUPERVISION", "semantic", *PAIR_LOSSES)).train()
    frozen = copy.deepcopy(model.backbone.state_dict())
    head = copy.deepcopy(model.displacement_head.state_dict())
    params = [p for p in model.parameters() if p.requires_grad]
    assert params and all(not p.requires_grad for p in model.backbone.parameters())
    optimizer = torch.optim.SGD(params, lr=0.01, momentum=0.9)
    batch = [scene(128, 128, seed) for seed in range(2)]  # radius-10 pairs need >= 19 feature px
    losses = []
    for _ in range(6):
        loss = sum(model(batch).values())
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
        losses.append(float(loss))
    assert losses[-1] < losses[0]
    assert not model.backbone.training  # kept in eval mode by train()
    for name, value in model.backbone.state_dict().items():  # weights and BN statistics
        assert torch.equal(value, frozen[name]), name
    assert any(not torch.equal(v, head[k]) for k, v in model.displacement_head.state_dict().items())
    assert model.bias_initialized and torch.isfinite(model.displacement_bias).all()


def test_optimizer_skips_frozen_parameters_and_scales_the_dfm_rate():
    cfg = small_config("MODEL.SISEG.FREEZE_BACKBONE", "True", "SOLVER.BASE_LR", "0.1",
                       "SOLVER.SISEG.DFM_LR_MULTIPLIER", "0.5")
    model = build_model(cfg)
    optimizer = Trainer.build_optimizer(cfg, model)
    in_optimizer = {p for g in optimizer.param_groups for p in g["params"]}
    assert not in_optimizer & set(model.backbone.parameters())
    dfm = set(model.displacement_head.parameters())
    assert dfm <= in_optimizer and set(model.boundary_head.parameters()) <= in_optimizer
    for group in optimizer.param_groups:
        expected = 0.05 if group["params"][0] in dfm else 0.1
        assert group["lr"] == pytest.approx(expected)


def test_input_encodings_have_the_right_channels():
    labels = torch.tensor([[[0, 1, 2, 255]]])
    images = torch.zeros(1, 3, 1, 4)
    mean, std = [0.0, 0.0, 0.0], [1.0, 1.0, 1.0]
    color = InputEncoder("mask", "color", 5, 255, mean, std)
    assert color(None, labels).shape == (1, 3, 1, 4)
    assert len({tuple(c) for c in color(None, labels)[0].permute(1, 2, 0)[0].tolist()}) == 4
    onehot = InputEncoder("image+mask", "onehot", 5, 255, mean, std)
    x = onehot(images, labels)
    assert x.shape == (1, 8, 1, 4) and onehot.in_channels == 8
    # Channels-last whatever the parts' layouts (the networks' convolutions follow it).
    assert x.is_contiguous(memory_format=torch.channels_last)
    mask_only = InputEncoder("mask", "onehot", 5, 255, mean, std)(None, labels.expand(2, 3, 4))
    assert mask_only.is_contiguous(memory_format=torch.channels_last) and not mask_only.is_contiguous()
    assert x[0, 3:, 0, 3].sum() == 0  # ignore -> no class
    assert x[0, 3 + 2, 0, 2] == 1
    assert len({tuple(c) for c in label_palette().tolist()}) == 256  # every label its own colour


def test_image_dropout_blanks_whole_images_in_training_only():
    torch.manual_seed(0)
    labels = torch.ones(64, 2, 2, dtype=torch.long)
    images = torch.full((64, 3, 2, 2), 7.0)
    encoder = InputEncoder("image+mask", "onehot", 3, 255, [1.0] * 3, [2.0] * 3, image_dropout=0.5)
    x = encoder(images, labels)
    image_part, mask_part = x[:, :3], x[:, 3:]
    blanked = (image_part == 0).flatten(1).all(1)
    shown = (image_part == 3.0).flatten(1).all(1)
    assert (blanked | shown).all()  # an image is blanked whole (the mean image) or shown as it is
    assert 16 < int(blanked.sum()) < 48  # about half of 64
    assert (mask_part[:, 1] == 1).all()  # the mask is always shown
    encoder.eval()
    assert (encoder(images, labels)[:, :3] == 3.0).all()  # never at inference
    with pytest.raises(ValueError, match="IMAGE_DROPOUT"):
        InputEncoder("mask", "onehot", 3, 255, [0.0] * 3, [1.0] * 3, image_dropout=0.5)


def test_unknown_options_are_clear_errors():
    with pytest.raises(ValueError, match="INPUT_MODE"):
        build_model(small_config("MODEL.SISEG.INPUT_MODE", "depth"))
    with pytest.raises(KeyError, match=r"SEGMENTER.NAME='nope' is not registered; the choices are \[.*'oracle'"):
        build_model(small_config("MODEL.SISEG.SEGMENTER.NAME", "nope"))
    with pytest.raises(KeyError, match=r"DFM.NAME='nope' is not registered; the choices are \['fine', 'irnet'\]"):
        build_model(small_config("MODEL.SISEG.DFM.NAME", "nope"))
    with pytest.raises(KeyError, match=r"CBR.NAME='nope' is not registered; the choices are \['irnet'\]"):
        build_model(small_config("MODEL.SISEG.CBR.NAME", "nope"))
    with pytest.raises(ValueError, match=r"GROUPING must be one of \('votes', 'irnet', 'connected_components'\)"):
        build_model(small_config("MODEL.SISEG.GROUPING", "displacement"))
    with pytest.raises(ValueError, match=r"SCORE_NORMALIZATION must be one of \('instance', 'global'\)"):
        build_model(small_config("MODEL.SISEG.INFERENCE.SCORE_NORMALIZATION", "globl"))
    with pytest.raises(ValueError, match="IN_FEATURES"):
        build_model(small_config("MODEL.RESNETS.OUT_FEATURES", "['res4']"))


def test_network_only_speed_returns_no_instances_and_times_the_networks():
    from sisieg.engine.timing import ForwardTimer

    torch.manual_seed(0)
    model = build_model(small_config("TEST.SISEG.NETWORK_ONLY_SPEED", "True")).eval()
    timer = ForwardTimer(model)
    (output,) = timer([scene(64, 64)])
    assert len(output["instances"]) == 0 and output["instances"].image_size == (64, 64)
    speed = timer.summary()
    assert speed["stage_backbone+heads"] > 0
    assert speed["stage_grouping"] == 0 and speed["stage_random walk"] == 0


def test_stage_times_add_up_to_at_most_the_total(model):
    from sisieg.engine.timing import ForwardTimer

    model = build_model(small_config("MODEL.SISEG.INFERENCE.RANDOM_WALK", "True",
                                     "MODEL.SISEG.INFERENCE.RANDOM_WALK_STEPS", "8")).eval()
    timer = ForwardTimer(model)
    for seed in range(2):
        timer([scene(96, 96, seed)])
    speed = timer.summary()
    stages = sum(v for k, v in speed.items() if k.startswith("stage_"))
    assert all(speed[f"stage_{s}"] > 0 for s in ("segmenter", "backbone+heads", "grouping", "random walk"))
    assert stages <= speed["seconds_per_image"] * 1.01
    assert speed["fps"] == pytest.approx(1 / speed["seconds_per_image"])


# ---------------------------------------------------------------- inputs at the extremes
def blank(height, width, file_name="edge-case.png"):
    return {"image": torch.zeros(3, height, width, dtype=torch.uint8),
            "sem_seg": torch.zeros(height, width, dtype=torch.long),
            "height": height, "width": width, "file_name": file_name}


@pytest.mark.parametrize("grouping", ["votes", "irnet", "connected_components"])
def test_an_image_smaller_than_the_backbone_stride_is_padded_and_answered(grouping):
    model = build_model(small_config("MODEL.SISEG.GROUPING", grouping, "MODEL.SISEG.INFERENCE.MIN_AREA", "1")).eval()
    record = blank(5, 7)  # the backbone's stride is 16
    record["sem_seg"][1:4, 2:6] = 1
    with torch.no_grad():
        (output,) = model([record])
    instances = output["instances"]
    assert instances.image_size == (5, 7) and instances.pred_masks.shape[1:] == (5, 7)
    assert len(instances) == 1 and instances.pred_classes.tolist() == [0]
    assert torch.isfinite(instances.scores).all()


@pytest.mark.parametrize("grouping", ["votes", "irnet", "connected_components"])
def test_a_single_pixel_object_is_a_small_instance_or_dropped_by_min_area(grouping):
    record = blank(64, 64)
    record["sem_seg"][30, 41] = 2
    for min_area, expected in (("1", 1), ("16", 0)):
        model = build_model(small_config(
            "MODEL.SISEG.GROUPING", grouping, "MODEL.SISEG.INFERENCE.MIN_AREA", min_area)).eval()
        with torch.no_grad():
            instances = model([record])[0]["instances"]
        assert len(instances) == expected, min_area
        if expected:
            assert instances.pred_masks[0, 30, 41] and instances.pred_classes.tolist() == [1]
            assert instances.pred_masks.sum() == 1 and torch.isfinite(instances.scores).all()


@pytest.mark.parametrize("grouping", ["votes", "irnet", "connected_components"])
def test_hundreds_of_instances(grouping):
    model = build_model(small_config(
        "MODEL.SISEG.GROUPING", grouping, "TEST.DETECTIONS_PER_IMAGE", "1000",
        "MODEL.SISEG.INFERENCE.MIN_AREA", "1", "MODEL.SISEG.INFERENCE.RANDOM_WALK", "True",
        # the walk costs steps x instances x pixels: a short one keeps this test quick
        "MODEL.SISEG.INFERENCE.RANDOM_WALK_STEPS", "8")).eval()
    record = blank(256, 256)
    for y in range(4, 256, 16):
        for x in range(4, 256, 16):
            record["sem_seg"][y:y + 8, x:x + 8] = 1 + (x // 16) % 2  # 256 separate 8x8 objects
    with torch.no_grad():
        instances = model([record])[0]["instances"]
    assert torch.isfinite(instances.scores).all()
    masks = instances.pred_masks
    objects = torch.zeros(256, 256, dtype=torch.long)  # object ids 1..256
    for k, (y, x) in enumerate((y, x) for y in range(4, 256, 16) for x in range(4, 256, 16)):
        objects[y:y + 8, x:x + 8] = k + 1
    inside = [torch.unique(objects[m]).tolist() for m in masks]
    # An untrained field groups freely, but never across unconnected regions: each instance
    # lies in one object, and every object pixel is in exactly one instance.
    assert all(len(ids) == 1 and ids[0] > 0 for ids in inside)
    assert torch.equal(masks.sum(dim=0), (objects > 0).long())
    assert len({ids[0] for ids in inside}) == 256
    if grouping == "connected_components":
        assert len(instances) == 256


def test_nan_probabilities_from_a_segmenter_name_the_image():
    model = build_model(small_config()).eval()

    def nan_segmenter(batched_inputs):
        probs = torch.full((5, 8, 8), 0.2)
        probs[1, 3, 3] = float("nan")
        return [SemanticPrediction(labels=torch.zeros(8, 8, dtype=torch.long), probs=probs)]

    model.segmenter.forward = nan_segmenter
    with pytest.raises(FloatingPointError, match=r"NaN or Inf probabilities \(1 values\) for image bad\.png"):
        model([blank(8, 8, "bad.png")])


def test_an_input_above_the_pixel_limit_is_an_error_naming_it_and_the_limit():
    model = build_model(small_config("MODEL.SISEG.INFERENCE.MAX_INPUT_PIXELS", "1000")).eval()
    with pytest.raises(ValueError, match=r"huge.jpg: network input 40x30 = 1,200 pixels .*MAX_INPUT_PIXELS = 1,000,"):
        model([blank(30, 40, "huge.jpg")])
