"""tools/benchmark.py's measurements run and report what the table needs (tiny sizes)."""
import argparse

import pytest

from sisieg.engine.benchmark import worker


@pytest.mark.parametrize("model", ["siseg", "siseg-networks", "mask-rcnn"])
def test_worker_reports_times_memory_params_and_flops(model):
    args = argparse.Namespace(model=model, size=96, repeats=2, device="cpu", threads=2,
                              siseg_config="configs/voc/siseg_oracle_R50_bs14_20ep.yaml")
    result = worker(args)
    assert len(result["times"]) == 2 and all(t > 0 for t in result["times"])
    assert result["peak_rss_mb"] > 100
    assert result["params_trainable"] + result["params_frozen"] > 1e6
    if model == "siseg":
        assert result["params_frozen"] > 2e7  # the frozen ResNet-50
        assert result["stage_random walk"] > 0 and result["stage_backbone+heads"] > 0
    else:
        assert result["gflops"] > 0.1
