#!/usr/bin/env python
"""SISeg vs Detectron2's Mask R-CNN R50-FPN: speed, memory, parameters, FLOPs, in one run.

    python tools/benchmark.py                       # CPU: shapes at 256/512/1024, crowded 512
    python tools/benchmark.py --sizes 512 --repeats 9
    python tools/benchmark.py --device cuda --repeats 20

Every (model, setting, scene, size) runs in a fresh process (sisieg/engine/benchmark.py) on
the same synthetic scene, batch 1, random weights, after one warm-up. SISeg in four settings:
``paper`` (ResNet-50 on the mask, IRNet heads and grouping, random walk), ``recipe`` (the
recommended configuration of the project page: light backbone, full-resolution field, votes),
``instance`` (the recipe with instance labels: the image beside the mask, a centre heatmap head)
and ``resnet18`` (the previous recipe: the same on Detectron2's ResNet-18); ground-truth masks, so the segmenter costs
nothing. Each is timed end to end and networks only; the post-processing on a scene is timed
on the perfect heads (its real instances: ``siseg-postprocessing``). Mask R-CNN keeps its top
100 detections. Medians with min-max spread; ratios are medians over Mask R-CNN's median on
the same scene and size. A Mask R-CNN spread above 20% of its median flags contention: read
that ratio with care.
"""
import argparse
import json
import subprocess
import sys

from sisieg.utils.cli import run

POSTPROCESSING = ("stage_grouping", "stage_random walk", "stage_output")
CONTENDED_SPREAD = 0.2  # (max - min) / median of Mask R-CNN above this: contended machine


def plan(args):
    """(model, setting, scene, size) of every measurement, in order."""
    jobs = []
    for size in args.sizes:
        for setting in args.settings:
            jobs += [("siseg", setting, "shapes", size), ("siseg-networks", setting, "shapes", size)]
        jobs.append(("mask-rcnn", "", "shapes", size))
    for size in args.crowded_sizes:
        jobs += [("siseg-postprocessing", setting, "crowded", size) for setting in args.settings]
        jobs.append(("mask-rcnn", "", "crowded", size))
    return jobs


def run_worker(job, args) -> dict:
    model, setting, scene, size = job
    command = [sys.executable, "-m", "sisieg.engine.benchmark", "--model", model, "--scene", scene,
               "--size", str(size), "--objects", str(args.objects), "--repeats", str(args.repeats),
               "--device", args.device, "--threads", str(args.threads)]
    if setting:
        command += ["--setting", setting]
    print(f"benchmark: {model} {setting} {scene} {size}px ...", file=sys.stderr, flush=True)
    done = subprocess.run(command, capture_output=True, text=True)
    if done.returncode != 0:
        raise SystemExit(f"benchmark of {model} {setting} at {size}px failed:\n{done.stderr[-3000:]}")
    return json.loads(done.stdout.strip().splitlines()[-1])


def spread(r) -> float:
    return (max(r["times"]) - min(r["times"])) / r["median"]


def postprocessing(r) -> float:
    return sum(r.get(k, 0.0) for k in POSTPROCESSING)


def table(results) -> str:
    rcnn = {(r["scene"], r["size"]): r for r in results if r["model"] == "mask-rcnn"}
    lines = [
        "| scene (objects) | size | model | setting | median s | min-max s | / Mask R-CNN | "
        "post-processing s | peak RSS MB | params M (trainable / frozen) | GFLOPs |",
        "|---|---|---|---|---|---|---|---|---|---|---|",
    ]
    for r in results:
        reference = rcnn.get((r["scene"], r["size"]))
        ratio = f"{r['median'] / reference['median']:.2f}" if reference and r["model"] != "mask-rcnn" else ""
        post = f"{postprocessing(r):.3f}" if r["model"] in ("siseg", "siseg-postprocessing") else ""
        gflops = f"{r['gflops']:.1f}" if "gflops" in r else ""
        lines.append(
            f"| {r['scene']} ({r['objects']}) | {r['size']}² | {r['model']} | {r['setting']} | {r['median']:.3f} | "
            f"{min(r['times']):.3f}-{max(r['times']):.3f} | {ratio} | {post} | "
            f"{r.get('peak_cuda_mb', r['peak_rss_mb']):.0f} | "
            f"{r['params_trainable'] / 1e6:.2f} / {r['params_frozen'] / 1e6:.2f} | {gflops} |"
        )
    stages = list(dict.fromkeys(k for r in results for k in r if k.startswith("stage_")))
    lines += ["", "SISeg per stage (mean over the timed runs, s):", ""]
    lines += ["| scene | size | model | setting | " + " | ".join(s[6:] for s in stages) + " |",
              "|---|---|---|---|" + "---|" * len(stages)]
    for r in results:
        if r["model"] in ("siseg", "siseg-postprocessing"):
            lines.append(f"| {r['scene']} | {r['size']}² | {r['model']} | {r['setting']} | "
                         + " | ".join(f"{r.get(s, 0.0):.4f}" for s in stages) + " |")
    return "\n".join(lines) + "\n" + notes(results, rcnn)


def notes(results, rcnn) -> str:
    """Contended references and the growth of time with pixels."""
    out = [""]
    for (scene, size), r in rcnn.items():
        if spread(r) > CONTENDED_SPREAD:
            out.append(f"- Mask R-CNN's spread on {scene} {size}² is {spread(r):.0%} of its median "
                       f"(> {CONTENDED_SPREAD:.0%}): the machine was likely contended; do not trust that ratio.")
    for setting in sorted({r["setting"] for r in results if r["model"] == "siseg"}):
        rows = sorted((r for r in results if r["model"] == "siseg" and r["setting"] == setting
                       and r["scene"] == "shapes"), key=lambda r: r["size"])
        if len(rows) > 1:
            per_pixel = [r["median"] / r["size"] ** 2 for r in rows]
            out.append(f"- SISeg {setting}: seconds per pixel from {rows[0]['size']}² to {rows[-1]['size']}² "
                       f"vary x{max(per_pixel) / min(per_pixel):.2f} (1.00 = linear in pixels).")
    return "\n".join(out) + "\n"


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--sizes", type=int, nargs="*", default=[256, 512, 1024], help="shapes scene sides")
    parser.add_argument("--crowded-sizes", type=int, nargs="*", default=[512], help="crowded scene sides")
    parser.add_argument("--objects", type=int, default=150, help="objects of the crowded scene")
    parser.add_argument("--settings", nargs="+", default=["paper", "recipe", "instance", "resnet18"], help="SISeg settings")
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--device", default="cpu")
    parser.add_argument("--threads", type=int, default=2, help="torch CPU threads")
    parser.add_argument("--output", help="also write the table (.md) and the measurements (.json) here")
    args = parser.parse_args()
    results = [run_worker(job, args) for job in plan(args)]
    text = (f"Device {args.device}, {results[0]['threads']} CPU threads, batch 1, "
            f"{args.repeats} timed runs after 1 warm-up, each measurement in a fresh process.\n\n" + table(results))
    print(text)
    if args.output:
        with open(args.output, "w") as f:
            f.write(text)
        with open(args.output.rsplit(".", 1)[0] + ".json", "w") as f:
            json.dump(results, f, indent=1)


if __name__ == "__main__":
    run(main)
