"""The experiment runner and its plans: shared trainings, per-row evaluation, one report."""
import json

import pytest

from sisieg.engine import build_config
from sisieg.engine.experiments import Row, overrides_slug, run_rows, select_rows, slug, write_report
from sisieg.engine.plans import COMPARISON, PLANS
from sisieg.errors import InputError

CONFIG = "configs/shapes/siseg_label_free.yaml"


def test_plans_name_known_config_keys():
    cfg = build_config(CONFIG)
    for rows in PLANS.values():
        for row in rows:
            merged = cfg.clone()
            merged.defrost()
            merged.merge_from_list([*row.train, *row.evaluate])  # raises on unknown keys


def test_comparison_rows_name_existing_configs_and_distinct_folders(repo_root):
    import os

    for row in COMPARISON:
        assert os.path.isfile(os.path.join(repo_root, row.config)), row.config
        for config in row.needs:
            assert os.path.isfile(os.path.join(repo_root, config)), config
    assert len({slug(row.name) for row in COMPARISON}) == len(COMPARISON)


def test_slugs_name_the_overrides_and_the_rows():
    assert overrides_slug(("MODEL.SISEG.SUPERVISION", "mixed", "INPUT.SISEG.INSTANCE_LABEL_FRACTION", "0.1")) == (
        "supervision-mixed_instance_label_fraction-0.1"
    )
    assert slug("connected components + ground-truth masks") == "connected_components_ground-truth_masks"


def test_select_rows_keeps_the_named_ones_in_order_and_names_unknown_ones():
    rows = [Row("a"), Row("b"), Row("c")]
    assert [r.name for r in select_rows(rows, ["c", "a"])] == ["a", "c"]
    assert select_rows(rows, None) == rows
    with pytest.raises(InputError, match=r"no row \['z'\]; the rows: \['a', 'b', 'c'\]"):
        select_rows(rows, ["z"])


def test_run_rows_trains_once_per_training_set_and_writes_one_report(tmp_path, monkeypatch):
    monkeypatch.setenv("DETECTRON2_DATASETS", str(tmp_path / "datasets"))
    from sisieg.data.datasets.shapes import register_shapes_split

    register_shapes_split("sisieg_test_sweep_train", str(tmp_path / "datasets"), "tiny_train", 4, (128, 128), 0)
    register_shapes_split("sisieg_test_sweep_val", str(tmp_path / "datasets"), "tiny_val", 2, (128, 128), 1)
    opts = [
        "DATASETS.TRAIN", "('sisieg_test_sweep_train',)", "DATASETS.TEST", "('sisieg_test_sweep_val',)",
        "SOLVER.MAX_ITER", "1", "SOLVER.IMS_PER_BATCH", "2", "DATALOADER.NUM_WORKERS", "0",
        "OUTPUT_DIR", str(tmp_path / "out"),
    ]
    rows = [
        Row("cc", weights="", evaluate=("MODEL.SISEG.GROUPING", "connected_components")),
        Row("label-free"),
        Row("instance", train=("MODEL.SISEG.SUPERVISION", "instance")),
        Row("label-free, 2 px bins", evaluate=("MODEL.SISEG.VOTES.BIN_SIZE", "2.0")),
    ]
    outcomes = run_rows(rows, str(tmp_path / "eval"), CONFIG, opts)
    assert [o.name for o in outcomes] == ["cc", "label-free", "instance", "label-free, 2 px bins"]
    assert outcomes[0].weights == ""
    assert outcomes[1].weights == outcomes[3].weights == str(tmp_path / "out" / "model_final.pth")
    assert outcomes[2].weights == str(tmp_path / "out" / "sweep" / "supervision-instance" / "model_final.pth")
    assert sorted(p.name for p in (tmp_path / "eval").iterdir()) == [
        "cc", "instance", "label-free", "label-free_2_px_bins"]
    table = write_report(outcomes, str(tmp_path / "report"), "header\n\n", "cc", "label-free")
    assert table.count("\n") == 2 + len(rows)
    assert (tmp_path / "report.md").read_text().startswith("header\n\n| method |")
    report = json.loads((tmp_path / "report.json").read_text())
    assert list(report) == [o.name for o in outcomes]
    assert report["cc"]["results"]["segm"]["AP"] == outcomes[0].results["segm"]["AP"]
    assert "headroom captured" in table
    assert not (tmp_path / "report.png").exists()  # no series, no costs: no chart


def test_a_duplicate_row_name_is_refused_before_anything_runs(tmp_path):
    with pytest.raises(ValueError, match="distinct names"):
        run_rows([Row("a b"), Row("a-b"), Row("a  b")], str(tmp_path), CONFIG)
