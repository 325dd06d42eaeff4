"""A Detectron2 ``CfgNode`` whose ``_BASE_`` may name a config of Detectron2's model zoo.

    _BASE_: "model-zoo:COCO-InstanceSegmentation/mask_rcnn_R_50_FPN_3x.yaml"

so that a baseline here is Detectron2's own config file, read by Detectron2's own config
system, with only the overrides written below it (data, input size, schedule); and whose
command-line overrides may give a whole number to a float key (``SOLVER.SISEG.TRAIN_MINUTES 10``,
which YACS alone refuses as a type mismatch).
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

    def merge_from_list(self, cfg_list):
        values = list(cfg_list)
        for i in range(1, len(values), 2):
            if isinstance(self._current(values[i - 1]), float):
                decoded = CfgNode._decode_cfg_value(values[i])
                if isinstance(decoded, int) and not isinstance(decoded, bool):
                    values[i] = float(decoded)
        return super().merge_from_list(values)

    def _current(self, key: str):
        """The value at dotted ``key``, or None where there is none (YACS reports it)."""
        node = self
        for part in str(key).split("."):
            if not isinstance(node, CfgNode) or part not in node:
                return None
            node = node[part]
        return node
