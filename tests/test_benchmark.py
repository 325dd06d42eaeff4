"""tools/benchmark.py's measurements: what the table needs, on tiny sizes."""
import argparse

import numpy as np
import pytest

from sisieg.data.synthetic import crowded_scene
from sisieg.engine.benchmark import scene_input, worker


def args(model, setting="recipe", scene="shapes", size=96, objects=150):
    return argparse.Namespace(model=model, setting=setting, scene=scene, objects=objects, size=size,
                              repeats=2, device="cpu", threads=2)


@pytest.mark.parametrize("model", ["siseg", "siseg-networks", "mask-rcnn"])
def test_worker_reports_times_memory_params_and_flops(model):
    result = worker(args(model, setting="paper"))
    assert len(result["times"]) == 2 and all(t > 0 for t in result["times"])
    assert result["peak_rss_mb"] > 100
    if model == "siseg":
        assert result["params_frozen"] > 2e7  # the paper's frozen ResNet-50
        assert result["stage_random walk"] > 0 and result["stage_backbone+heads"] > 0
    elif model == "mask-rcnn":
        assert result["params_trainable"] > 4e7 and result["setting"] == "R50-FPN"
        assert 1 < result["gflops"] < 100
    else:  # the networks only: no instance stage ran
        assert result["stage_grouping"] == 0 and result["gflops"] > 0


def test_crowded_scene_has_the_objects_asked_for_and_touching_same_class_neighbours():
    scene = crowded_scene(np.random.default_rng(0), 512, 150)
    assert 140 <= len(scene.masks) <= 150  # a few nearly hidden ellipses are dropped
    assert sum(scene.touching) > 40
    stack = np.stack(scene.masks)
    assert stack.sum(axis=0).max() == 1  # visible masks are disjoint
    assert (scene.semantic > 0).sum() == stack.sum()


@pytest.mark.parametrize("setting", ["recipe", "instance"])  # the vote modes, a centre heatmap's peaks
def test_post_processing_on_perfect_heads_finds_every_object_of_the_crowded_scene(setting):
    result = worker(args("siseg-postprocessing", setting=setting, scene="crowded", size=256, objects=60))
    assert result["objects"] == scene_input(256, "cpu", "crowded", 60)["objects"]
    assert result["instances"] == result["objects"]
    assert result["stage_grouping"] > 0
