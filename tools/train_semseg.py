#!/usr/bin/env python
"""Train or evaluate a Detectron2 semantic segmenter (e.g. SemanticSegmentor) for SISeg.

    python tools/train_semseg.py --config-file configs/shapes/semseg_fpn_R18_bs8_2k.yaml
    python tools/train_semseg.py --config-file ... --eval-only MODEL.WEIGHTS output/.../model_final.pth

Detectron2's usual flags and trailing ``KEY VALUE`` overrides. The evaluation after training
(SemSegEvaluator: mIoU, fwIoU, mACC, pACC) is logged to ``metrics.json`` (``sem_seg/mIoU``, ...);
``--eval-only`` also writes ``<OUTPUT_DIR>/inference/eval_results.json``.
"""
import sisieg  # noqa: F401  isort: skip  (first: puts Detectron2's compiled-ops placeholder in place)
from detectron2.checkpoint import DetectionCheckpointer
from detectron2.engine import default_argument_parser, launch

from sisieg.engine import SemSegTrainer, save_results, setup


def main(args):
    cfg = setup(args)
    if args.eval_only:
        model = SemSegTrainer.build_model(cfg)
        DetectionCheckpointer(model, save_dir=cfg.OUTPUT_DIR).resume_or_load(
            cfg.MODEL.WEIGHTS, resume=args.resume
        )
        results = SemSegTrainer.test(cfg, model)
        save_results(results, cfg.OUTPUT_DIR)
        return results
    trainer = SemSegTrainer(cfg)
    trainer.resume_or_load(resume=args.resume)
    return trainer.train()


if __name__ == "__main__":
    args = default_argument_parser().parse_args()
    launch(
        main,
        args.num_gpus,
        num_machines=args.num_machines,
        machine_rank=args.machine_rank,
        dist_url=args.dist_url,
        args=(args,),
    )
