"""Experiment plans: shared trainings, per-variant evaluation, one table row per variant."""
from sisieg.engine import build_config
from sisieg.engine.sweep import PLANS, Variant, run_plan, slug
from sisieg.evaluation import results_table

CONFIG = "configs/shapes/siseg_label_free.yaml"


def test_plans_name_known_config_keys():
    cfg = build_config(CONFIG)
    for variants in PLANS.values():
        for variant in variants:
            merged = cfg.clone()
            merged.defrost()
            merged.merge_from_list([*variant.train, *variant.evaluate])  # raises on unknown keys


def test_slug_names_the_overrides():
    assert slug(("MODEL.SISEG.SUPERVISION", "mixed", "INPUT.SISEG.INSTANCE_LABEL_FRACTION", "0.1")) == (
        "supervision-mixed_instance_label_fraction-0.1"
    )


def test_run_plan_trains_once_per_training_set(tmp_path, monkeypatch):
    monkeypatch.setenv("DETECTRON2_DATASETS", str(tmp_path / "datasets"))
    from sisieg.data.datasets.shapes import register_shapes_split

    register_shapes_split("sisieg_test_sweep_train", str(tmp_path / "datasets"), "tiny_train", 4, (128, 128), 0)
    register_shapes_split("sisieg_test_sweep_val", str(tmp_path / "datasets"), "tiny_val", 2, (128, 128), 1)
    cfg = build_config(CONFIG, [
        "DATASETS.TRAIN", "('sisieg_test_sweep_train',)", "DATASETS.TEST", "('sisieg_test_sweep_val',)",
        "SOLVER.MAX_ITER", "1", "SOLVER.IMS_PER_BATCH", "2", "DATALOADER.NUM_WORKERS", "0",
        "OUTPUT_DIR", str(tmp_path / "out"),
    ])
    variants = [
        Variant("cc", evaluate=("MODEL.SISEG.GROUPING", "connected_components")),
        Variant("semantic"),
        Variant("instance", train=("MODEL.SISEG.SUPERVISION", "instance")),
    ]
    rows = run_plan(cfg, variants)
    assert [name for name, _, _ in rows] == ["cc", "semantic", "instance"]
    assert (tmp_path / "out" / "model_final.pth").exists()  # shared by "cc" and "semantic"
    assert (tmp_path / "out" / "sweep" / "supervision-instance" / "model_final.pth").exists()
    table = results_table(rows)
    assert table.count("\n") == 2 + len(variants)
    assert all("segm" in results for _, results, _ in rows)
