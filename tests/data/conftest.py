"""Shared by the dataset tests: catalog clean-up and a tiny train + eval through train_net."""
import json
import os
import subprocess
import sys

import pytest

import sisieg  # noqa: F401  isort: skip  (before Detectron2)
from detectron2.data import DatasetCatalog, MetadataCatalog

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
# A ResNet-18 from scratch, 2 iterations of batch 2 on the CPU.
TINY_RUN = [
    "MODEL.RESNETS.DEPTH", "18", "MODEL.RESNETS.RES2_OUT_CHANNELS", "64",
    "MODEL.RESNETS.RES5_DILATION", "1", "MODEL.RESNETS.NORM", "BN",
    "MODEL.SISEG.FREEZE_BACKBONE", "False", "MODEL.DEVICE", "cpu",
    "SOLVER.MAX_ITER", "2", "SOLVER.IMS_PER_BATCH", "2", "SOLVER.CHECKPOINT_PERIOD", "1000",
    "DATALOADER.NUM_WORKERS", "0", "TEST.EVAL_PERIOD", "0",
]


@pytest.fixture
def registered():
    """Names a test registers, removed from both catalogs afterwards."""
    names = []
    yield names
    for name in names:
        if name in DatasetCatalog.list():
            DatasetCatalog.remove(name)
        MetadataCatalog.remove(name)


def _train_net(cwd, root, config, *args):
    env = dict(os.environ, DETECTRON2_DATASETS=str(root))
    command = [sys.executable, os.path.join(REPO, "tools", "train_net.py"), "--config-file", config]
    result = subprocess.run(
        [*command, *args], capture_output=True, text=True, env=env, cwd=cwd, timeout=600
    )
    assert result.returncode == 0, result.stderr[-3000:]


@pytest.fixture
def tiny_run():
    """The KEY VALUE overrides of a ResNet-18 from scratch, 2 iterations of batch 2 on the CPU."""
    return list(TINY_RUN)


@pytest.fixture
def train_then_evaluate(tmp_path):
    """``f(root, config, *overrides) -> eval_results.json``: train 2 iterations of a tiny
    model on the config's data under dataset root ``root``, then ``--eval-only``."""

    def run(root, config, *overrides):
        out = tmp_path / "output"
        config = os.path.join(REPO, config)
        common = [*TINY_RUN, *overrides, "OUTPUT_DIR", str(out)]
        _train_net(tmp_path, root, config, *common, "MODEL.WEIGHTS", "")
        assert (out / "model_final.pth").is_file()
        weights = str(out / "model_final.pth")
        _train_net(tmp_path, root, config, "--eval-only", *common, "MODEL.WEIGHTS", weights)
        return json.loads((out / "inference" / "eval_results.json").read_text())

    return run
