#!/usr/bin/env python
"""Train or evaluate SISeg (or the connected-components baseline) with Detectron2.

    python tools/train_net.py --config-file configs/shapes/siseg_label_free.yaml
    python tools/train_net.py --config-file ... --eval-only MODEL.WEIGHTS output/model_final.pth
    python tools/train_net.py --config-file ... --eval-only MODEL.WEIGHTS output/model_0000799.pth \
        TEST.PRECISE_BN.ENABLED True   # batch-norm statistics recomputed first (mid-training checkpoints)
    python tools/train_net.py --config-file ... --num-gpus 8   # through detectron2's launch()

Trailing ``KEY VALUE`` pairs override the config. A user error (a bad config value, a missing
file) is one line, no traceback (``--debug`` shows it). Evaluation goes on past images it cannot
use (their objects count as misses), lists them and exits with status 1.
"""
import sys

import sisieg  # noqa: F401  isort: skip  (first: puts Detectron2's compiled-ops placeholder in place)
from detectron2.engine import default_argument_parser, launch

from sisieg.data.skipped_images import evaluation_report_path, read_skips
from sisieg.engine import Trainer, save_results, setup
from sisieg.engine.checkpoint import Checkpointer, load_weights
from sisieg.utils.cli import run


def main(args):
    cfg = setup(args)
    if args.eval_only:
        model = Trainer.build_model(cfg)
        checkpoints = Checkpointer(model, save_dir=cfg.OUTPUT_DIR)
        resume = args.resume and checkpoints.has_checkpoint()
        load_weights(cfg, model, checkpoints.get_checkpoint_file() if resume else cfg.MODEL.WEIGHTS)
        if cfg.TEST.PRECISE_BN.ENABLED:
            Trainer.recompute_bn_statistics(cfg, model)
        results = Trainer.test(cfg, model)
        save_results(results, cfg.OUTPUT_DIR)
        report = evaluation_report_path(cfg.OUTPUT_DIR)
        failed = read_skips(report)
        if failed:
            print(f"evaluated; {len(failed)} image(s) could not be used and count as misses: see "
                  f"{report}", file=sys.stderr)
            sys.exit(1)
        return results
    trainer = Trainer(cfg)
    trainer.resume_or_load(resume=args.resume)
    return trainer.train()


def launch_main():
    args = default_argument_parser().parse_args()
    launch(
        main,
        args.num_gpus,
        num_machines=args.num_machines,
        machine_rank=args.machine_rank,
        dist_url=args.dist_url,
        args=(args,),
    )


if __name__ == "__main__":
    run(launch_main)
