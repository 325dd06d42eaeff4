"""Test-time symmetries of the heads: positions move and vectors turn exactly."""
import pytest
import torch
from detectron2.modeling import build_model

from sisieg.engine import build_config
from sisieg.errors import ConfigError
from sisieg.modeling.field_augmentation import averaged_heads, restore_field, transform, transform_field
from sisieg.modeling.targets import head_targets


def _instances():
    ids = torch.zeros(1, 12, 16, dtype=torch.long)  # not square: transposes change the shape
    ids[0, 1:5, 2:9] = 1
    ids[0, 6:11, 3:6] = 2
    ids[0, 7:9, 9:15] = 3
    return ids


@pytest.mark.parametrize("k", range(8))
def test_the_field_of_a_transformed_image_is_the_transformed_field(k):
    ids = _instances()
    field = head_targets(ids, ids.shape[-2:], 1).offsets
    moved = transform(ids, k)
    expected = head_targets(moved, moved.shape[-2:], 1).offsets
    assert torch.allclose(transform_field(field, k), expected, atol=1e-5)
    assert torch.allclose(restore_field(expected, k), field, atol=1e-5)


def test_averaging_an_equivariant_head_gives_it_back():
    ids = _instances()

    def perfect(labels):  # an exact head: its field turns with its input
        return head_targets(labels, labels.shape[-2:], 1).offsets, labels[:, None].float()

    field, boundary = averaged_heads(perfect, (ids,), 8)
    assert torch.allclose(field, perfect(ids)[0], atol=1e-5)
    assert torch.equal(boundary, ids[:, None].float())


def test_the_model_averages_its_heads_and_rejects_other_counts():
    torch.manual_seed(0)
    cfg = build_config("configs/shapes/siseg_label_free.yaml", ["MODEL.SISEG.INFERENCE.FIELD_AUGMENTATIONS", "4"])
    model = build_model(cfg).eval()
    semantic = torch.zeros(64, 64, dtype=torch.long)
    semantic[10:30, 12:40] = 1
    record = {"image": torch.zeros(3, 64, 64, dtype=torch.uint8), "height": 64, "width": 64}
    with torch.no_grad():
        averaged, _, _ = model._predict_heads([record], [semantic])
        versions = [model._debiased_network(None, transform(semantic[None], k))[0] for k in range(4)]
    assert torch.allclose(averaged, torch.stack([restore_field(v, k) for k, v in enumerate(versions)]).mean(0))
    assert not torch.allclose(averaged, versions[0])  # an untrained network is no symmetric one
    with pytest.raises(ConfigError, match=r"FIELD_AUGMENTATIONS must be one of \(1, 2, 4, 8\), got 3"):
        build_model(build_config("configs/shapes/siseg_label_free.yaml", ["MODEL.SISEG.INFERENCE.FIELD_AUGMENTATIONS", "3"]))
