"""A Detectron2 ``CfgNode`` whose ``_BASE_`` may name a config of Detectron2's model zoo.

    _BASE_: "model-zoo:COCO-InstanceSegmentation/mask_rcnn_R_50_FPN_3x.yaml"

so that a baseline here is Detectron2's own config file, read by Detectron2's own config
system, with only the overrides written below it (data, input size, schedule).
"""
from detectron2 import model_zoo
from detectron2.config import CfgNode

MODEL_ZOO_PREFIX = "model-zoo:"


class ConfigNode(CfgNode):
    """``CfgNode`` + ``_BASE_: "model-zoo:<path in Detectron2's model zoo>"``."""

    @classmethod
    def load_yaml_with_base(cls, filename, allow_unsafe: bool = False):
        # fvcore joins a relative base with the including file's folder: look past that.
        if isinstance(filename, str) and MODEL_ZOO_PREFIX in filename:
            filename = model_zoo.get_config_file(filename.split(MODEL_ZOO_PREFIX, 1)[1])
        return super().load_yaml_with_base(filename, allow_unsafe=allow_unsafe)
