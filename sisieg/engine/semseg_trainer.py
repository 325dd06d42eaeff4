"""``SemSegTrainer``: trains a Detectron2 semantic segmenter (e.g. ``SemanticSegmentor``) on
sisieg's datasets, to be wrapped later by SISeg's ``"detectron2"`` segmenter."""
import os

from detectron2.evaluation import SemSegEvaluator

from .trainer import Trainer


class SemSegTrainer(Trainer):
    """SISeg's Trainer (its mapper gives ``image`` + ``sem_seg``; its SGD and poly schedule)
    with Detectron2's ``SemSegEvaluator`` (mIoU, fwIoU, mACC, pACC). The evaluated split's
    metadata needs ``stuff_classes`` and ``ignore_label``, and its records
    ``sem_seg_file_name``, as the shapes splits have."""

    @classmethod
    def build_evaluator(cls, cfg, dataset_name, output_folder=None):
        output_folder = output_folder or os.path.join(cfg.OUTPUT_DIR, "inference", dataset_name)
        return SemSegEvaluator(dataset_name, distributed=True, output_dir=output_folder)
