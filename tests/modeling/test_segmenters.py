"""The frozen segmenters: files, detectron2, torchvision; frozen-ness; clear errors; the
SemanticSegmentor training tool."""
import copy
import json
import math
import os
import re
import subprocess
import sys

import numpy as np
import pytest
import torch
from detectron2.checkpoint import DetectionCheckpointer
from detectron2.modeling import build_model
from PIL import Image
from torch.nn import functional as F
from torchvision.models.segmentation import lraspp_mobilenet_v3_large

from sisieg.engine import Trainer, build_config
from sisieg.modeling.segmenters import build_segmenter
from sisieg.errors import ConfigError

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
SISEG_CONFIG = os.path.join(REPO, "configs", "shapes", "siseg_label_free.yaml")
SEMSEG_CONFIG = os.path.join(REPO, "configs", "shapes", "semseg_light.yaml")
VOC_TO_SHAPES = [0, 1, 2, 3, 4] + [-1] * 16  # 5 dataset classes from the first 5 VOC outputs


def siseg_config(*opts):
    return build_config(SISEG_CONFIG, ["MODEL.DEVICE", "cpu", *opts])


def record(name, size, original=None, seed=0):
    """A model input: random uint8 image of ``size``, original size ``original``."""
    g = torch.Generator().manual_seed(seed)
    height, width = original or size
    image = torch.randint(0, 256, (3, *size), generator=g, dtype=torch.uint8)
    return {"file_name": f"/data/images/{name}.jpg", "image": image, "height": height, "width": width}


def scene(size=128, seed=0):
    """An input with a ground-truth mask of two touching class-1 boxes and a class-2 box."""
    x = record(f"scene{seed}", (size, size), seed=seed)
    sem = torch.zeros(size, size, dtype=torch.long)
    sem[size // 4: size // 2, size // 8: size // 2] = 1
    sem[size // 4: size // 2, size // 2: 7 * size // 8] = 1
    sem[2 * size // 3: size - 4, size // 3: 2 * size // 3] = 2
    x["sem_seg"] = sem
    return x


# ---------------------------------------------------------------------------- files
def write_png(path, labels):
    Image.fromarray(np.asarray(labels, dtype=np.uint8)).save(path)


def files_segmenter(folder, *opts):
    return build_segmenter(siseg_config(
        "MODEL.SISEG.SEGMENTER.NAME", "files", "MODEL.SISEG.SEGMENTER.FILES_DIR", str(folder), *opts
    ))


def test_files_matches_each_image_by_stem_and_resizes_to_the_input(tmp_path):
    rng = np.random.default_rng(0)
    labels = {name: rng.integers(0, 5, (20, 30)) for name in ("a", "b")}
    probs = {name: rng.random((5, 20, 30)).astype(np.float16) for name in ("a", "b")}
    for name in labels:
        write_png(tmp_path / f"{name}.png", labels[name])
        np.save(tmp_path / f"{name}.npy", probs[name])
    segmenter = files_segmenter(tmp_path, "MODEL.SISEG.SEGMENTER.FILES_PROBS", "True")
    inputs = [record("b", (40, 60), original=(20, 30)), record("a", (40, 60), original=(20, 30))]
    for x, prediction in zip(inputs, segmenter(inputs)):
        name = os.path.basename(x["file_name"])[0]
        expected = torch.from_numpy(labels[name]).repeat_interleave(2, 0).repeat_interleave(2, 1)
        assert prediction.labels.dtype == torch.long and torch.equal(prediction.labels, expected)
        resized = F.interpolate(torch.from_numpy(probs[name]).float()[None], (40, 60), mode="bilinear")
        assert prediction.probs.dtype == torch.float32
        assert torch.allclose(prediction.probs, resized[0])


def test_files_without_probs_gives_labels_only(tmp_path):
    write_png(tmp_path / "a.png", np.full((16, 16), 3))
    (prediction,) = files_segmenter(tmp_path)([record("a", (8, 8), original=(16, 16))])
    assert prediction.probs is None and prediction.labels.shape == (8, 8)
    assert (prediction.labels == 3).all()


def test_files_errors_name_the_file(tmp_path):
    write_png(tmp_path / "a.png", np.zeros((20, 30)))
    np.save(tmp_path / "a.npy", np.zeros((4, 20, 30), np.float32))  # 4 channels, 5 classes
    write_png(tmp_path / "c.png", np.zeros((10, 30)))  # wrong size
    segmenter = files_segmenter(tmp_path, "MODEL.SISEG.SEGMENTER.FILES_PROBS", "True")
    with pytest.raises(FileNotFoundError, match=re.escape(f"b.jpg not found: expected {tmp_path / 'b.png'}")):
        segmenter([record("b", (20, 30))])
    with pytest.raises(ValueError, match="a.npy: 4 probability channels, expected .*NUM_SEMANTIC_CLASSES = 5"):
        segmenter([record("a", (20, 30))])
    with pytest.raises(ValueError, match=r"c.png is 30x10 \(WxH\) but image .*c.jpg is 30x20"):
        files_segmenter(tmp_path)([record("c", (20, 30))])
    (tmp_path / "a.npy").unlink()
    with pytest.raises(FileNotFoundError, match="a.jpg not found: expected .*a.npy"):
        segmenter([record("a", (20, 30))])
    with pytest.raises(FileNotFoundError, match="FILES_DIR: prediction folder .*nowhere"):
        files_segmenter(tmp_path / "nowhere")


def test_siseg_runs_on_the_files_predictions(tmp_path):
    labels = scene(64)["sem_seg"].numpy()
    write_png(tmp_path / "scene0.png", labels)
    probs = np.eye(5, dtype=np.float32)[labels].transpose(2, 0, 1)
    np.save(tmp_path / "scene0.npy", probs)
    cfg = siseg_config("MODEL.SISEG.SEGMENTER.NAME", "files", "MODEL.SISEG.SEGMENTER.FILES_DIR",
                       str(tmp_path), "MODEL.SISEG.SEGMENTER.FILES_PROBS", "True")
    torch.manual_seed(0)
    model = build_model(cfg).eval()
    x = record("scene0", (32, 32), original=(64, 64))  # as if the mapper halved the image
    with torch.no_grad():
        (output,) = model([x])
    assert output["sem_seg"].shape == (5, 64, 64)
    assert torch.equal(output["sem_seg"][:, ::2, ::2].argmax(0), torch.from_numpy(labels)[::2, ::2])
    assert output["instances"].image_size == (64, 64) and len(output["instances"]) >= 2


# ---------------------------------------------------------------------------- detectron2
@pytest.fixture(scope="module")
def semseg_weights(tmp_path_factory):
    """A randomly initialised SemanticSegmentor (ResNet-18 FPN) saved by DetectionCheckpointer."""
    torch.manual_seed(0)
    model = build_model(build_config(SEMSEG_CONFIG))
    folder = tmp_path_factory.mktemp("semseg")
    DetectionCheckpointer(model, save_dir=str(folder)).save("semseg")
    return str(folder / "semseg.pth"), model.state_dict()


def d2_options(weights, config=SEMSEG_CONFIG):
    return (
        "MODEL.SISEG.SEGMENTER.NAME", "detectron2",
        "MODEL.SISEG.SEGMENTER.D2_CONFIG", config,
        "MODEL.SISEG.SEGMENTER.D2_WEIGHTS", weights,
    )


def test_detectron2_segmenter_loads_the_checkpoint_and_predicts_at_input_size(semseg_weights):
    path, state = semseg_weights
    segmenter = build_segmenter(siseg_config(*d2_options(path)))
    for key, value in segmenter.model.state_dict().items():
        assert torch.equal(value, state[key]), key
    inputs = [record("a", (70, 90), original=(140, 180)), record("b", (64, 64), seed=1)]
    predictions = segmenter(inputs)
    for x, prediction in zip(inputs, predictions):
        size = tuple(x["image"].shape[-2:])
        assert prediction.labels.shape == size and prediction.probs.shape == (5, *size)
        assert prediction.labels.min() >= 0 and prediction.labels.max() < 5
        assert torch.allclose(prediction.probs.sum(0), torch.ones(size), atol=1e-5)
        assert torch.equal(prediction.labels, prediction.probs.argmax(0))
    # Our images in BGR: flipped back to the model's RGB, same predictions.
    bgr = build_segmenter(siseg_config("INPUT.FORMAT", "BGR", *d2_options(path)))
    flipped = [dict(inputs[0], image=inputs[0]["image"].flip(0))]
    assert torch.allclose(bgr(flipped)[0].probs, segmenter(inputs[:1])[0].probs, atol=1e-6)


def test_detectron2_segmenter_errors(semseg_weights, tmp_path):
    path, state = semseg_weights
    with pytest.raises(FileNotFoundError, match="D2_WEIGHTS: semantic model weights not found at .*nope.pth"):
        build_segmenter(siseg_config(*d2_options(str(tmp_path / "nope.pth"))))
    with pytest.raises(FileNotFoundError, match="D2_CONFIG: Detectron2 config file not found at .*nope.yaml"):
        build_segmenter(siseg_config(*d2_options(path, str(tmp_path / "nope.yaml"))))
    with pytest.raises(ValueError, match="NUM_CLASSES = 5 but MODEL.SISEG.NUM_SEMANTIC_CLASSES = 7"):
        build_segmenter(siseg_config("MODEL.SISEG.NUM_SEMANTIC_CLASSES", "7", *d2_options(path)))
    broken = dict(state)
    broken["sem_seg_head.extra.weight"] = broken.pop("sem_seg_head.predictor.weight")
    torch.save({"model": broken}, tmp_path / "broken.pth")
    with pytest.raises(ValueError, match=r"broken.pth do not match SemanticSegmentor: missing keys \(1\): "
                       r"sem_seg_head.predictor.weight; unexpected keys \(1\): sem_seg_head.extra.weight"):
        build_segmenter(siseg_config(*d2_options(str(tmp_path / "broken.pth"))))


# ---------------------------------------------------------------------------- torchvision
@pytest.fixture(scope="module")
def lraspp(tmp_path_factory):
    """A randomly initialised LR-ASPP MobileNetV3 (21 VOC classes), its raw state_dict saved."""
    torch.manual_seed(0)
    model = lraspp_mobilenet_v3_large(weights=None, weights_backbone=None, num_classes=21).eval()
    path = tmp_path_factory.mktemp("tv") / "lraspp.pth"
    torch.save(model.state_dict(), path)
    return model, str(path)


def tv_options(weights, class_map=VOC_TO_SHAPES):
    return (
        "MODEL.SISEG.SEGMENTER.NAME", "torchvision",
        "MODEL.SISEG.SEGMENTER.TORCHVISION_ARCH", "lraspp_mobilenet_v3_large",
        "MODEL.SISEG.SEGMENTER.TORCHVISION_WEIGHTS", weights,
        "MODEL.SISEG.SEGMENTER.TORCHVISION_CLASS_MAP", str(list(class_map)),
    )


def voc_probs(model, image):
    """The reference: ImageNet-normalised RGB through the model, softmax over 21 classes."""
    mean = torch.tensor([0.485, 0.456, 0.406]).view(3, 1, 1)
    std = torch.tensor([0.229, 0.224, 0.225]).view(3, 1, 1)
    with torch.no_grad():
        return model(((image.float() / 255 - mean) / std)[None])["out"][0].softmax(0)


def test_torchvision_segmenter_maps_voc_classes_to_dataset_ids(lraspp):
    model, path = lraspp
    segmenter = build_segmenter(siseg_config(*tv_options(path)))
    x = record("a", (64, 80))
    (prediction,) = segmenter([x])
    reference = voc_probs(model, x["image"])
    expected = torch.cat([reference[:1] + reference[5:].sum(0, keepdim=True), reference[1:5]])
    assert prediction.probs.shape == (5, 64, 80)
    assert torch.allclose(prediction.probs, expected, atol=1e-5)
    assert torch.equal(prediction.labels, expected.argmax(0))
    assert torch.allclose(prediction.probs.sum(0), torch.ones(64, 80), atol=1e-5)


@pytest.mark.parametrize("wrapper", ["model", "state_dict"])
def test_torchvision_identity_map_and_wrapped_state_dicts(lraspp, tmp_path, wrapper):
    model, _ = lraspp
    torch.save({wrapper: model.state_dict(), "epoch": 3}, tmp_path / "wrapped.pth")
    cfg = siseg_config("MODEL.SISEG.NUM_SEMANTIC_CLASSES", "21", *tv_options(str(tmp_path / "wrapped.pth"), []))
    x = record("a", (48, 48))
    (prediction,) = build_segmenter(cfg)([x])
    assert torch.allclose(prediction.probs, voc_probs(model, x["image"]), atol=1e-5)


def test_torchvision_segmenter_errors(lraspp, tmp_path):
    model, path = lraspp
    with pytest.raises(FileNotFoundError, match="TORCHVISION_WEIGHTS: torchvision model weights not found"):
        build_segmenter(siseg_config(*tv_options(str(tmp_path / "nope.pth"))))
    state = model.state_dict()
    state["classifier.bogus"] = state.pop("classifier.low_classifier.weight")
    torch.save(state, tmp_path / "broken.pth")
    with pytest.raises(ValueError, match=r"broken.pth do not match lraspp_mobilenet_v3_large: missing keys "
                       r"\(1\): classifier.low_classifier.weight; unexpected keys \(1\): classifier.bogus"):
        build_segmenter(siseg_config(*tv_options(str(tmp_path / "broken.pth"))))
    with pytest.raises(ValueError, match="predicts 21 VOC classes but MODEL.SISEG.NUM_SEMANTIC_CLASSES = 5"):
        build_segmenter(siseg_config(*tv_options(path, [])))
    with pytest.raises(ValueError, match="CLASS_MAP has 3 entries, expected 21"):
        build_segmenter(siseg_config(*tv_options(path, [0, 1, 2])))
    with pytest.raises(ValueError, match=r"CLASS_MAP ids \[7\] outside -1 .. 4"):
        build_segmenter(siseg_config(*tv_options(path, [7] + VOC_TO_SHAPES[1:])))
    with pytest.raises(ValueError, match="TORCHVISION_ARCH='fcn_tiny': expected one of"):
        build_segmenter(siseg_config(*tv_options(path), "MODEL.SISEG.SEGMENTER.TORCHVISION_ARCH", "fcn_tiny"))


# ---------------------------------------------------------------------------- frozen
@pytest.fixture(params=["detectron2", "torchvision"])
def segmenter_options(request, semseg_weights, lraspp):
    if request.param == "detectron2":
        return d2_options(semseg_weights[0])
    return tv_options(lraspp[1])


def test_segmenters_stay_frozen_through_siseg_training(segmenter_options):
    torch.manual_seed(0)
    cfg = siseg_config("MODEL.SISEG.TRAIN_MASK_SOURCE", "segmenter", "MODEL.SISEG.SUPERVISION", "semantic",
                         "MODEL.SISEG.DFM.LOSS_FG_WEIGHT", "1.0", "MODEL.SISEG.CBR.LOSS_WEIGHT", "1.0", *segmenter_options)
    model = build_model(cfg).train()
    segmenter = model.segmenter
    assert all(not p.requires_grad for p in segmenter.parameters())
    assert not any(m.training for m in segmenter.modules())  # eval even after model.train()
    segmenter.train()
    assert not any(m.training for m in segmenter.modules())
    optimizer = Trainer.build_optimizer(cfg, model)
    assert not {p for g in optimizer.param_groups for p in g["params"]} & set(segmenter.parameters())
    before = copy.deepcopy(segmenter.state_dict())  # weights and batch-norm statistics
    loss = sum(model([scene(seed=0), scene(seed=1)]).values())
    optimizer.zero_grad()
    loss.backward()
    optimizer.step()
    for key, value in segmenter.state_dict().items():
        assert torch.equal(value, before[key]), key


def test_siseg_checkpoints_leave_the_segmenter_out(semseg_weights):
    model = build_model(siseg_config(*d2_options(semseg_weights[0])))
    state = model.state_dict()
    assert state and not any(k.startswith("segmenter.") for k in state)
    own = copy.deepcopy(model.segmenter.state_dict())
    foreign = {f"segmenter.{k}": torch.zeros_like(v) for k, v in own.items()}  # another segmenter
    incompatible = model.load_state_dict({**state, **foreign})
    assert not incompatible.missing_keys and not incompatible.unexpected_keys
    model.load_state_dict(state)  # no segmenter entries: nothing reported missing either
    for key, value in model.segmenter.state_dict().items():
        assert torch.equal(value, own[key]), key


# ---------------------------------------------------------------------------- training tool
def test_train_net_trains_a_semantic_segmenter_for_siseg_to_wrap(tmp_path):
    out = tmp_path / "out"
    env = dict(os.environ, DETECTRON2_DATASETS=str(tmp_path / "datasets"))
    result = subprocess.run(
        [sys.executable, os.path.join(REPO, "tools", "train_net.py"), "--config-file", SEMSEG_CONFIG,
         "DATASETS.TRAIN", '("sisieg_shapes_tiny_train",)', "DATASETS.TEST", '("sisieg_shapes_tiny_val",)',
         "SOLVER.MAX_ITER", "2", "SOLVER.IMS_PER_BATCH", "2", "DATALOADER.NUM_WORKERS", "0",
         "OUTPUT_DIR", str(out)],
        capture_output=True, text=True, env=env, cwd=tmp_path, timeout=600,
    )
    assert result.returncode == 0, result.stderr[-3000:]
    metrics = [json.loads(line) for line in (out / "metrics.json").read_text().splitlines()]
    miou = [m["sem_seg/mIoU"] for m in metrics if "sem_seg/mIoU" in m]
    assert len(miou) == 1 and math.isfinite(miou[0])
    # The checkpoint the tool wrote plugs into SISeg as its segmenter.
    segmenter = build_segmenter(siseg_config(*d2_options(str(out / "model_final.pth"))))
    (prediction,) = segmenter([record("a", (64, 64))])
    assert prediction.labels.shape == (64, 64)


# ---------------------------------------------------------------------------- segmenter loss
def test_hard_pixel_cross_entropy_averages_the_hardest_share_of_the_labelled_pixels():
    from sisieg.modeling.segmenters.hard_pixel_head import hard_pixel_cross_entropy

    logits = torch.randn(2, 3, 4, 5, generator=torch.Generator().manual_seed(0))
    targets = torch.randint(0, 3, (2, 4, 5), generator=torch.Generator().manual_seed(1))
    targets[0, 0, :] = 255  # 5 ignored pixels: 35 labelled
    per_pixel = F.cross_entropy(logits, targets, reduction="none", ignore_index=255)[targets != 255]
    assert torch.allclose(hard_pixel_cross_entropy(logits, targets, 1.0, 255), per_pixel.mean())
    hardest = per_pixel.sort(descending=True).values[:round(0.2 * 35)]
    assert torch.allclose(hard_pixel_cross_entropy(logits, targets, 0.2, 255), hardest.mean())
    nothing = torch.full_like(targets, 255)
    assert hard_pixel_cross_entropy(logits, nothing, 0.2, 255).item() == 0.0


def test_a_loss_share_outside_zero_to_one_is_a_config_error():
    with pytest.raises(ConfigError, match="LOSS_TOP_K must be in"):
        build_model(build_config(SEMSEG_CONFIG, ["MODEL.SEM_SEG_HEAD.LOSS_TOP_K", "0.0"]))


FINE_HEAD = ["MODEL.SEM_SEG_HEAD.NAME", "FineSemSegFPNHead",
             "MODEL.RESNETS.OUT_FEATURES", '["input", "res2", "res3", "res4", "res5"]']


def test_the_fine_head_predicts_at_full_resolution_from_the_image():
    torch.manual_seed(0)
    model = build_model(build_config(SEMSEG_CONFIG, FINE_HEAD)).eval()
    with torch.no_grad():  # the stride-4 context off: what is left is the full-resolution path
        model.sem_seg_head.narrow[0].weight.zero_()
        model.sem_seg_head.narrow[0].bias.zero_()
    image = torch.full((3, 64, 64), 128, dtype=torch.uint8)
    changed = image.clone()
    changed[:, 33, 21] = 255  # one pixel
    with torch.no_grad():
        before, after = (model([{"image": x, "height": 64, "width": 64}])[0]["sem_seg"] for x in (image, changed))
    moved = (after - before).abs().sum(0) > 1e-6
    assert before.shape == (5, 64, 64) and moved[33, 21]
    outside = moved.clone()
    outside[30:37, 18:25] = False  # three 3x3 convolutions see 3 pixels on each side
    assert not outside.any()
    model.train()
    losses = model([{"image": image, "height": 64, "width": 64, "sem_seg": torch.zeros(64, 64, dtype=torch.long)}])
    assert set(losses) == {"loss_sem_seg"} and losses["loss_sem_seg"].requires_grad


def test_the_fine_head_without_a_stride_one_feature_is_a_config_error():
    with pytest.raises(ConfigError, match="FINE_FEATURE 'input' must be a stride-1 backbone output"):
        build_model(build_config(SEMSEG_CONFIG, [*FINE_HEAD[:3], '["res2", "res3", "res4", "res5"]']))


def test_the_fine_head_computes_in_channels_last_what_the_plain_layout_gives():
    torch.manual_seed(0)
    model = build_model(build_config(SEMSEG_CONFIG, FINE_HEAD)).eval()
    head = model.sem_seg_head
    features = {name: torch.randn(2, shape.channels, 32 // shape.stride, 32 // shape.stride)
                for name, shape in model.backbone.output_shape().items()}
    assert head.memory_format == torch.channels_last  # the default
    with torch.no_grad():
        logits = head.layers(features)
        head.memory_format = torch.contiguous_format
        plain = head.layers(features)
    assert logits.is_contiguous() and logits.shape == (2, 5, 32, 32)
    assert torch.allclose(logits, plain, atol=1e-5)
