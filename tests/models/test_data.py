"""Training samples: horizontal flip mirrors the picture, boxes, masks and landmarks and swaps left/right
landmarks with the layout's flip pairs; targets hold what the model expects; broken images give one clear
error naming the file."""

from __future__ import annotations

import numpy as np
import pytest

torch = pytest.importorskip("torch")

from df2kit.engine.data import TrainDataset, check_batch, flip_landmarks
from df2kit.errors import ImageError
from df2kit.io import scan_split
from df2kit.layout import CATEGORIES, FLIP_INDEX_294, Category
from df2kit.models.heads import MAX_K

pytestmark = pytest.mark.model


@pytest.mark.parametrize("cat", [c.id for c in CATEGORIES])
def test_flip_swaps_every_pair_and_is_an_involution(cat: int) -> None:
    c = Category(cat)
    rng = np.random.default_rng(cat)
    lm = np.column_stack([rng.uniform(0, 200, c.num_landmarks), rng.uniform(0, 100, c.num_landmarks), rng.choice([1, 2], c.num_landmarks)])
    lm[0] = 0  # an unlabeled landmark stays [0, 0, 0]
    f = flip_landmarks(lm, cat, 200)
    for a, b in c.flip_pairs:
        if lm[b - 1, 2] > 0:
            assert f[a - 1].tolist() == [200 - lm[b - 1, 0], lm[b - 1, 1], lm[b - 1, 2]]
    fixed = [j for j in range(c.num_landmarks) if c.info.flip_index[j] == j]
    for j in fixed:
        assert f[j, 1] == lm[j, 1] and (lm[j, 2] == 0 or f[j, 0] == 200 - lm[j, 0])
    np.testing.assert_allclose(flip_landmarks(f, cat, 200), lm, rtol=0, atol=1e-9)
    # the local permutation is the layout's global one restricted to the category's slice
    assert np.array_equal(c.info.flip_index + c.offset, FLIP_INDEX_294[c.landmark_slice])


def test_flip_keeps_left_landmarks_on_the_left(synth_root) -> None:
    """On drawn garments the first landmark of a flip pair lies on one side; after a flip (mirror + swap) it
    must still lie on that side, while a plain mirror without the swap would put it on the other."""
    table = scan_split(synth_root, "train")
    kept = mirrored = 0
    for j in range(table.num_items):
        cat = int(table.category_id[j])
        lm = np.array(table.item_landmarks(j))
        f = flip_landmarks(lm, cat, 128.0)
        raw = lm.copy()
        raw[lm[:, 2] > 0, 0] = 128.0 - lm[lm[:, 2] > 0, 0]
        for a, b in Category(cat).flip_pairs:
            if lm[a - 1, 2] > 0 and lm[b - 1, 2] > 0 and abs(lm[a - 1, 0] - lm[b - 1, 0]) > 1:
                side = np.sign(lm[a - 1, 0] - lm[b - 1, 0])
                kept += np.sign(f[a - 1, 0] - f[b - 1, 0]) == side
                mirrored += np.sign(raw[a - 1, 0] - raw[b - 1, 0]) == side
    assert kept > 50 and mirrored == 0


def test_flipped_sample_mirrors_image_boxes_masks_and_landmarks(synth_root) -> None:
    table = scan_split(synth_root, "train")
    plain = TrainDataset(table, hflip=0.0)
    flipped = TrainDataset(table, hflip=1.0)
    i = int(np.argmax(table.item_count))
    a, b = plain[i], flipped[i]
    w = a["image"].shape[2]
    assert torch.equal(b["image"], a["image"].flip(2))
    ta, tb = a["target"], b["target"]
    assert torch.equal(ta["labels"], tb["labels"]) and torch.equal(ta["identity"], tb["identity"])
    torch.testing.assert_close(tb["boxes"][:, [0, 2]], w - ta["boxes"][:, [2, 0]])
    torch.testing.assert_close(tb["boxes"][:, [1, 3]], ta["boxes"][:, [1, 3]])
    for k in range(len(ta["labels"])):
        diff = (tb["masks"][k].int() - ta["masks"][k].flip(1).int()).abs().sum()
        assert diff <= ta["masks"][k].sum() * 0.05 + w  # rasterisation differs by at most an edge
        cat = int(ta["labels"][k])
        n = Category(cat).num_landmarks
        want = flip_landmarks(ta["keypoints"][k, :n].numpy(), cat, w)
        np.testing.assert_allclose(tb["keypoints"][k, :n].numpy(), want, rtol=0, atol=1e-4)
        assert torch.count_nonzero(tb["keypoints"][k, n:]) == 0


def test_sample_targets_match_the_annotation(synth_root) -> None:
    table = scan_split(synth_root, "train")
    ds = TrainDataset(table, hflip=0.0)
    s = ds[0]
    t = s["target"]
    n = int(table.item_count[0])
    assert s["image"].dtype == torch.uint8 and s["image"].shape[0] == 3
    assert t["boxes"].shape == (n, 4) and t["keypoints"].shape == (n, MAX_K, 3)
    assert t["masks"].shape == (n, *s["image"].shape[1:]) and t["masks"].dtype == torch.uint8
    np.testing.assert_allclose(t["boxes"].numpy(), table.bbox_xyxy[:n], atol=1e-4)
    assert t["labels"].tolist() == table.category_id[:n].tolist()
    assert int(t["source"]) == int(table.source[0])
    _, group, _, _ = table.style_identities()
    assert t["identity"].tolist() == group[:n].tolist()
    for k in range(n):  # the mask covers most of the item's box
        x1, y1, x2, y2 = (round(float(v)) for v in table.bbox_xyxy[k])
        assert t["masks"][k].sum() > 0.2 * (x2 - x1) * (y2 - y1)


def test_flip_draw_is_deterministic_per_seed_epoch_and_row(synth_root) -> None:
    table = scan_split(synth_root, "train")
    ds = TrainDataset(table, hflip=0.5, seed=4)
    first = [ds.flipped(i) for i in range(len(ds))]
    assert first == [TrainDataset(table, hflip=0.5, seed=4).flipped(i) for i in range(len(ds))]
    assert 0 < sum(first) < len(first)
    ds.set_epoch(1)
    assert [ds.flipped(i) for i in range(len(ds))] != first


def test_broken_image_is_one_clear_error(synth_root, tmp_path) -> None:
    import shutil

    root = tmp_path / "copy"
    shutil.copytree(synth_root / "train", root / "train")
    table = scan_split(root, "train", cache=False)
    bad = table.image_path(2)
    bad.write_bytes(b"not a jpeg")
    sample = TrainDataset(table)[2]
    with pytest.raises(ImageError) as e:
        check_batch([sample])
    assert e.value.path == str(bad) and "cannot decode" in str(e.value)
