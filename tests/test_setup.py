"""The foundation: configs load, the package imports with and without compiled ops, the CLI answers."""
import glob
import os
import subprocess
import sys

import pytest

from sisieg.engine import build_config

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
CONFIGS = sorted(
    glob.glob(os.path.join(REPO, "configs", "**", "*.yaml"), recursive=True)
    + glob.glob(os.path.join(REPO, "projects", "**", "*.yaml"), recursive=True)
)


def run_python(code: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, cwd=REPO, timeout=300
    )


def test_there_are_configs():
    assert len(CONFIGS) >= 3


@pytest.mark.parametrize("path", CONFIGS, ids=lambda p: os.path.relpath(p, REPO))
def test_config_loads(path):
    cfg = build_config(path)
    # SISeg, its segmenters, Detectron2's Mask R-CNN baselines (model-zoo base + overrides)
    assert cfg.MODEL.META_ARCHITECTURE in ("SISeg", "SemanticSegmentor", "GeneralizedRCNN")
    assert cfg.MODEL.DEVICE in ("cpu", "cuda") or cfg.MODEL.DEVICE.startswith("cuda:")


def test_import_without_compiled_ops_installs_a_placeholder_that_names_the_op():
    result = run_python(
        "import sisieg, detectron2.layers, detectron2\n"
        "from detectron2.utils.collect_env import collect_env_info\n"
        "assert not sisieg.HAS_COMPILED_OPS\n"
        "info = collect_env_info()\n"
        "assert 'without compiled ops' in info, info\n"
        "try:\n"
        "    detectron2._C.deform_conv_forward\n"
        "except AttributeError as e:\n"
        "    print('ERROR:', e)\n"
    )
    assert result.returncode == 0, result.stderr
    assert "ERROR: detectron2._C.deform_conv_forward is a compiled Detectron2 op" in result.stdout
    assert "official Detectron2 build" in result.stdout


def test_import_with_real_compiled_ops_leaves_them_alone():
    result = run_python(
        "import sys, types\n"
        "real = types.ModuleType('detectron2._C')\n"
        "sys.modules['detectron2._C'] = real\n"
        "import sisieg, detectron2.layers\n"
        "assert sisieg.HAS_COMPILED_OPS\n"
        "assert sys.modules['detectron2._C'] is real\n"
        "print('ok')\n"
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "ok"


def test_import_registers_the_meta_architecture_and_datasets():
    result = run_python(
        "import sisieg\n"
        "from detectron2.modeling import META_ARCH_REGISTRY\n"
        "from detectron2.data import DatasetCatalog\n"
        "assert 'SISeg' in META_ARCH_REGISTRY\n"
        "assert 'sisieg_shapes_train' in DatasetCatalog.list()\n"
        "print('ok')\n"
    )
    assert result.returncode == 0, result.stderr


def test_train_net_help_shows_detectron2_flags():
    result = subprocess.run(
        [sys.executable, os.path.join(REPO, "tools", "train_net.py"), "--help"],
        capture_output=True, text=True, timeout=300,
    )
    assert result.returncode == 0, result.stderr
    for flag in ("--config-file", "--eval-only", "--resume", "--num-gpus", "--num-machines", "--dist-url"):
        assert flag in result.stdout


def test_cuda_device_falls_back_to_cpu_without_cuda():
    import torch

    cfg = build_config("", ["MODEL.DEVICE", "cuda"])
    assert cfg.MODEL.DEVICE == ("cuda" if torch.cuda.is_available() else "cpu")


def test_a_base_may_name_a_detectron2_model_zoo_config(tmp_path):
    config = tmp_path / "mine.yaml"
    config.write_text('_BASE_: "model-zoo:COCO-InstanceSegmentation/mask_rcnn_R_50_FPN_3x.yaml"\n'
                      "MODEL:\n  ROI_HEADS:\n    NUM_CLASSES: 4\n")
    cfg = build_config(str(config))
    assert cfg.MODEL.META_ARCHITECTURE == "GeneralizedRCNN" and cfg.MODEL.MASK_ON  # the zoo's file
    assert cfg.MODEL.BACKBONE.NAME == "build_resnet_fpn_backbone"  # ... and the zoo's own base
    assert cfg.SOLVER.MAX_ITER == 270000  # the 3x schedule
    assert cfg.MODEL.ROI_HEADS.NUM_CLASSES == 4  # our override on top


def test_an_unknown_model_zoo_base_is_named(tmp_path):
    config = tmp_path / "mine.yaml"
    config.write_text('_BASE_: "model-zoo:COCO-InstanceSegmentation/no_such_model.yaml"\n')
    with pytest.raises(RuntimeError, match="no_such_model.yaml not available in Model Zoo"):
        build_config(str(config))


def test_a_whole_number_on_the_command_line_sets_a_float_key_and_other_types_still_must_match():
    cfg = build_config(os.path.join(REPO, "configs", "shapes", "siseg_label_free.yaml"),
                       ["SOLVER.SISEG.TRAIN_MINUTES", "10", "MODEL.SISEG.MASK_DISTANCE_CAP", "8"])
    assert cfg.SOLVER.SISEG.TRAIN_MINUTES == 10.0 and isinstance(cfg.SOLVER.SISEG.TRAIN_MINUTES, float)
    assert cfg.MODEL.SISEG.MASK_DISTANCE_CAP == 8.0
    with pytest.raises(Exception, match="SOLVER.MAX_ITER"):
        build_config(os.path.join(REPO, "configs", "shapes", "siseg_label_free.yaml"), ["SOLVER.MAX_ITER", "2.5"])
