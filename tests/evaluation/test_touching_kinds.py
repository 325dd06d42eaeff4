"""Contact vs occlusion: the generator replays its scenes, the kinds follow the whole shapes, and
the subset AP is COCO's on those annotations alone."""
import contextlib
import io

import pytest
from pycocotools.coco import COCO

from sisieg.data.synthetic import draw_scene, generate_split, image_rng, split_paths
from sisieg.errors import InputError
from sisieg.evaluation.touching_kinds import subset_metrics, touching_kinds


@pytest.fixture(scope="module")
def split(tmp_path_factory):
    root = tmp_path_factory.mktemp("shapes")
    generate_split(root, "val", 40, (128, 128), seed=1, progress=False)
    with contextlib.redirect_stdout(io.StringIO()):
        return COCO(str(split_paths(root, "val").json_file))


def test_every_touching_instance_gets_a_kind_and_occluders_overlap(split):
    kinds = touching_kinds(split, "val", 1)
    touching = {a["id"] for a in split.dataset["annotations"] if a["touching"]}
    assert set(kinds) == touching and {"contact", "occlusion"} <= set(kinds.values())
    # an occluding pair is two overlapping whole shapes of one class: the kind of each member
    scene = draw_scene(image_rng(1, "val", 0), (128, 128))
    assert len(scene.overlapping) == len(scene.masks)
    occluded = [i for i, k in kinds.items() if k == "occlusion"]
    assert len(occluded) >= 2  # they come in pairs (or more)


def test_a_split_made_with_another_seed_is_an_error(split):
    with pytest.raises(InputError, match="does not replay with seed 2"):
        touching_kinds(split, "val", 2)


def test_subset_metrics_score_the_ground_truth_100_and_nothing_0(split):
    kinds = touching_kinds(split, "val", 1)
    occlusion = [i for i, k in kinds.items() if k == "occlusion"]
    perfect = [{"image_id": a["image_id"], "category_id": a["category_id"], "segmentation": a["segmentation"],
                "score": 1.0} for a in split.dataset["annotations"]]
    assert subset_metrics(split, perfect, occlusion)["AP"] == pytest.approx(100.0)
    # the occluding objects missing: AP 0 on them, the contact ones untouched
    others = [r for r, a in zip(perfect, split.dataset["annotations"]) if a["id"] not in set(occlusion)]
    assert subset_metrics(split, others, occlusion)["AP"] == 0
    contact = [i for i, k in kinds.items() if k == "contact"]
    assert subset_metrics(split, others, contact)["AP"] == pytest.approx(100.0)
    assert subset_metrics(split, others, occlusion)["count"] == len(occlusion) > 0
