#!/usr/bin/env python
"""SISeg vs Detectron2's Mask R-CNN R50-FPN: speed, memory, parameters, FLOPs, in one run.

    python tools/benchmark.py                       # CPU, 256/512/1024, 5 timed repeats each
    python tools/benchmark.py --device cuda --repeats 20

Every (model, size) runs in a fresh process (sisieg/engine/benchmark.py) on the same
synthetic scene, batch 1, random weights, after one warm-up. SISeg uses the paper's
setting (ResNet-50, ground-truth masks, so the segmenter costs nothing) and is timed end to
end and networks-only; Mask R-CNN keeps its top 20 detections. Medians with min-max spread;
the ratio is SISeg / Mask R-CNN on medians. Output: a markdown table (also to --output).
"""
import argparse
import json
import subprocess
import sys

MODELS = ("siseg", "siseg-networks", "mask-rcnn")
POSTPROCESSING = ("stage_grouping", "stage_random walk", "stage_output")


def run_worker(model: str, size: int, args) -> dict:
    command = [sys.executable, "-m", "sisieg.engine.benchmark", "--model", model, "--size", str(size),
               "--repeats", str(args.repeats), "--device", args.device, "--threads", str(args.threads)]
    done = subprocess.run(command, capture_output=True, text=True)
    if done.returncode != 0:
        raise SystemExit(f"benchmark of {model} at {size}px failed:\n{done.stderr[-3000:]}")
    return json.loads(done.stdout.strip().splitlines()[-1])


def table(results) -> str:
    by = {(r["model"], r["size"]): r for r in results}
    lines = [
        "| size | model | median s | min-max s | SISeg / Mask R-CNN | post-processing share | "
        "peak RSS MB | params M (trainable / frozen) | GFLOPs |",
        "|---|---|---|---|---|---|---|---|---|",
    ]
    for (model, size), r in by.items():
        rcnn = by.get(("mask-rcnn", size))
        ratio = f"{r['median'] / rcnn['median']:.2f}" if rcnn and model != "mask-rcnn" else ""
        post = sum(r.get(k, 0.0) for k in POSTPROCESSING)
        share = f"{post / r['seconds_per_image']:.0%}" if model == "siseg" else ""
        gflops = r.get("gflops", by.get(("siseg-networks", size), {}).get("gflops"))
        lines.append(
            f"| {size}² | {model} | {r['median']:.3f} | {min(r['times']):.3f}-{max(r['times']):.3f} | "
            f"{ratio} | {share} | {r.get('peak_cuda_mb', r['peak_rss_mb']):.0f} | "
            f"{r['params_trainable'] / 1e6:.2f} / {r['params_frozen'] / 1e6:.2f} | {gflops:.1f} |"
        )
    stages = [k for k in results[0] if k.startswith("stage_")]
    lines += ["", "SISeg per stage (median run's mean, s): " + ", ".join(s[6:] for s in stages), ""]
    lines += ["| size | " + " | ".join(s[6:] for s in stages) + " |", "|---|" + "---|" * len(stages)]
    for r in results:
        if r["model"] == "siseg":
            lines.append(f"| {r['size']}² | " + " | ".join(f"{r[s]:.4f}" for s in stages) + " |")
    return "\n".join(lines) + "\n"


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--sizes", type=int, nargs="+", default=[256, 512, 1024])
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--device", default="cpu")
    parser.add_argument("--threads", type=int, default=2, help="torch CPU threads")
    parser.add_argument("--output", help="also write the table to this file")
    args = parser.parse_args()
    results = [run_worker(m, s, args) for s in args.sizes for m in MODELS]
    text = (f"Device {args.device}, {results[0]['threads']} CPU threads, batch 1, "
            f"{args.repeats} timed runs after 1 warm-up.\n\n" + table(results))
    print(text)
    if args.output:
        with open(args.output, "w") as f:
            f.write(text)


if __name__ == "__main__":
    main()
