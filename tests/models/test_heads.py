"""The heads on their own: sliced landmark heatmaps against the full 294-channel deconv, heatmap targets and
decoding, the matching network and pair head, the ranking rewrite against the pair head, and the whole
model's losses and outputs on a tiny configuration."""

from __future__ import annotations

import numpy as np
import pytest

torch = pytest.importorskip("torch")

from df2kit.layout import NUM_LANDMARKS_BY_ID, OFFSET_BY_ID, Category
from df2kit.models.heads import (
    MAX_K,
    MatchingHead,
    PairHead,
    SlicedHeatmapPredictor,
    decode_heatmaps,
    gather_match_rows,
    landmark_loss,
    landmark_targets,
    match_loss,
    ranking_vectors,
)

from .conftest import tiny_config

pytestmark = pytest.mark.model


@pytest.mark.parametrize("upsample", [False, True])
def test_sliced_predictor_equals_the_full_294_channel_deconv(upsample: bool) -> None:
    torch.manual_seed(0)
    pred = SlicedHeatmapPredictor(8, upsample=upsample)
    x = torch.randn(6, 8, 7, 7)
    cats = torch.tensor([1, 8, 8, 11, 13, 1])
    out = pred(x, cats)
    size = 28 if upsample else 14
    assert out.shape == (6, MAX_K, size, size)
    full = pred.full(x)
    assert full.shape == (6, 294, size, size)
    for r, c in enumerate(cats.tolist()):
        o, k = int(OFFSET_BY_ID[c]), int(NUM_LANDMARKS_BY_ID[c])
        torch.testing.assert_close(out[r, :k], full[r, o : o + k], rtol=1e-5, atol=1e-5)
        assert torch.count_nonzero(out[r, k:]) == 0  # padding channels stay zero


def test_sliced_predictor_trains_only_the_slices_it_used() -> None:
    torch.manual_seed(0)
    pred = SlicedHeatmapPredictor(4, upsample=False)
    out = pred(torch.randn(3, 4, 5, 5), torch.tensor([8, 8, 9]))
    out.sum().backward()
    used = np.zeros(294, dtype=bool)
    for c in (8, 9):
        used[Category(c).landmark_slice] = True
    per_channel = pred.weight.grad.abs().sum(dim=(0, 2, 3)).numpy()
    assert (per_channel[used] > 0).all()
    assert (per_channel[~used] == 0).all()
    assert (pred.bias.grad.numpy()[~used] == 0).all()


def test_landmark_targets_follow_the_heatmap_cells() -> None:
    rois = torch.tensor([[10.0, 20.0, 38.0, 48.0]])  # 28 x 28 px box, size 14: 2 px per cell
    lm = torch.zeros(1, MAX_K, 3)
    lm[0, 0] = torch.tensor([10.0, 20.0, 2.0])  # top-left corner -> cell 0
    lm[0, 1] = torch.tensor([15.0, 25.9, 1.0])  # x cell 2, y cell 2 (occluded still trains)
    lm[0, 2] = torch.tensor([38.0, 48.0, 2.0])  # far corner -> last cell
    lm[0, 3] = torch.tensor([9.0, 30.0, 2.0])  # left of the box -> not trained
    lm[0, 4] = torch.tensor([20.0, 30.0, 0.0])  # unlabeled -> not trained
    lm[0, 14] = torch.tensor([20.0, 30.0, 2.0])  # trousers have 14 landmarks: channel 14 does not exist
    index, valid = landmark_targets(lm, rois, torch.tensor([8]), 14)
    assert valid[0, :6].tolist() == [True, True, True, False, False, False]
    assert not valid[0, 14]
    assert index[0, :3].tolist() == [0, 2 * 14 + 2, 13 * 14 + 13]


def test_decode_finds_the_peak_cell_and_refines_towards_the_neighbour() -> None:
    s = 28
    logits = torch.full((2, MAX_K, s, s), -10.0)
    logits[0, 0, 5, 7] = 5.0  # isolated peak: the cell centre
    logits[0, 1, 12, 20] = 5.0
    logits[0, 1, 12, 21] = 4.0  # right neighbour larger than left -> +0.25 cell in x
    logits[1, 0, 0, 0] = 5.0  # border cell: no refinement
    rois = torch.tensor([[0.0, 0.0, 56.0, 28.0], [100.0, 50.0, 128.0, 78.0]])
    xy, score = decode_heatmaps(logits, rois)
    assert xy.shape == (2, MAX_K, 2) and score.shape == (2, MAX_K)
    torch.testing.assert_close(xy[0, 0], torch.tensor([(7 + 0.5) * 2.0, 5 + 0.5]))
    torch.testing.assert_close(xy[0, 1], torch.tensor([(20 + 0.75) * 2.0, 12 + 0.5]))
    torch.testing.assert_close(xy[1, 0], torch.tensor([100.5, 50.5]))
    assert float(score[0, 0]) == 5.0


def test_encode_then_decode_lands_within_half_a_cell() -> None:
    g = torch.Generator().manual_seed(1)
    rois = torch.tensor([[30.0, 40.0, 130.0, 190.0]]).repeat(20, 1)
    lm = torch.zeros(20, MAX_K, 3)
    lm[:, :10, 0] = 30 + torch.rand(20, 10, generator=g) * 100
    lm[:, :10, 1] = 40 + torch.rand(20, 10, generator=g) * 150
    lm[:, :10, 2] = 2
    cats = torch.full((20,), 1)
    index, valid = landmark_targets(lm, rois, cats, 56)
    logits = torch.zeros(20, MAX_K, 56 * 56)
    logits.scatter_(2, index.unsqueeze(2), 9.0)
    xy, _ = decode_heatmaps(logits.reshape(20, MAX_K, 56, 56), rois)
    err = (xy[:, :10] - lm[:, :10, :2]).abs()
    assert valid[:, :10].all()
    assert (err[..., 0] <= 100 / 56 / 2 + 1e-4).all() and (err[..., 1] <= 150 / 56 / 2 + 1e-4).all()


def test_landmark_loss_is_low_on_the_target_and_log_cells_when_flat() -> None:
    index = torch.tensor([[3, 40, 0]])
    valid = torch.tensor([[True, True, False]])
    flat = torch.zeros(1, 3, 8, 8)
    assert float(landmark_loss(flat, index, valid)) == pytest.approx(np.log(64), rel=1e-5)
    peaked = torch.zeros(1, 3, 64)
    peaked[0, 0, 3] = 20.0
    peaked[0, 1, 40] = 20.0
    assert float(landmark_loss(peaked.reshape(1, 3, 8, 8), index, valid)) < 1e-6
    none = landmark_loss(flat.requires_grad_(), index, torch.zeros_like(valid))
    assert float(none.detach()) == 0.0 and none.requires_grad


def test_matching_head_shapes_and_batch_norm_edge_cases() -> None:
    torch.manual_seed(0)
    head = MatchingHead(16, channels=8, hidden=24, embedding_dim=12).train()
    assert head(torch.randn(5, 16, 7, 7)).shape == (5, 12)
    assert head(torch.randn(1, 16, 7, 7)).shape == (1, 12)  # one RoI: running statistics, no error
    empty = head(torch.randn(0, 16, 7, 7))
    assert empty.shape == (0, 12)
    head.eval()
    a = torch.randn(3, 16, 7, 7)
    torch.testing.assert_close(head(a)[1], head(a[1:2])[0])  # eval: an embedding does not depend on the batch


def test_pairwise_logits_equal_the_pair_head() -> None:
    torch.manual_seed(0)
    head = PairHead(6)
    q, g = torch.randn(4, 6), torch.randn(7, 6)
    want = torch.stack([torch.stack([head(q[i], g[j])[1] - head(q[i], g[j])[0] for j in range(7)]) for i in range(4)])
    torch.testing.assert_close(head.pairwise(q, g), want, rtol=1e-5, atol=1e-5)


def test_match_loss_labels_pairs_by_identity_and_learns() -> None:
    torch.manual_seed(0)
    head = PairHead(4)
    ident = torch.tensor([0, 1, -1, 0, 1, 2])
    source = torch.tensor([0, 0, 0, 1, 1, 1])  # three shop RoIs, three user RoIs
    good = torch.tensor([[1.0, 0, 0, 0], [0, 1.0, 0, 0], [0, 0, 1.0, 0], [1.0, 0, 0, 0], [0, 1.0, 0, 0], [0, 0, 0, 1.0]]) * 3
    with torch.no_grad():  # a pair head that calls small squared differences a match
        head.fc.weight.copy_(torch.tensor([[1.0] * 4, [-1.0] * 4]))
        head.fc.bias.copy_(torch.tensor([-4.0, 4.0]))
    with torch.no_grad():
        low = float(match_loss(good, ident, source, head))
        shuffled = good[torch.tensor([0, 1, 2, 4, 5, 3])]  # user embeddings now belong to other identities
        high = float(match_loss(shuffled, ident, source, head))
        assert low < 0.2 < high
        # style-0 RoIs (identity -1) are never positive, even with each other
        assert float(match_loss(good, torch.full((6,), -1), source, head)) == pytest.approx(
            float(torch.nn.functional.cross_entropy(head(good[3:, None], good[None, :3]).reshape(-1, 2), torch.zeros(9, dtype=torch.long))),
            rel=1e-5,
        )
        assert float(match_loss(good[:3], ident[:3], source[:3], head)) == 0.0  # no user RoI: no pair


def test_match_loss_with_other_processes_rows_counts_only_pairs_with_a_local_side() -> None:
    torch.manual_seed(1)
    head = PairHead(4)
    emb = torch.randn(6, 4)
    ident = torch.tensor([0, 1, -1, 0, 1, 2])
    source = torch.tensor([0, 0, 0, 1, 1, 1])
    with torch.no_grad():
        assert float(match_loss(emb, ident, source, head, torch.ones(6, dtype=torch.bool))) == pytest.approx(
            float(match_loss(emb, ident, source, head))
        )
        # local: shop RoI 0 and user RoI 4; pairs (u3, s0), (u4, s0), (u4, s1), (u4, s2), (u5, s0) count
        local = torch.tensor([True, False, False, False, True, False])
        pairs = sorted({(u, s) for u in (3, 4, 5) for s in (0, 1, 2) if local[u] or local[s]})
        assert len(pairs) == 5
        logits = torch.stack([head(emb[u], emb[s]) for u, s in pairs])
        label = torch.tensor([int(ident[u] == ident[s] and ident[u] >= 0) for u, s in pairs])
        ce = torch.nn.functional.cross_entropy(logits, label, reduction="none")
        want = (ce[label == 1].mean() + ce[label == 0].mean()) / 2
        assert float(match_loss(emb, ident, source, head, local)) == pytest.approx(float(want), rel=1e-5)
        # no local row (this process sampled none): no pair of its own, a loss of 0 that still has a graph
        none = match_loss(emb, ident, source, head, torch.zeros(6, dtype=torch.bool))
        assert float(none) == 0.0
    assert match_loss(emb.requires_grad_(), ident, source, head, torch.zeros(6, dtype=torch.bool)).requires_grad
    # outside distributed training the rows come back as given
    e, i, s, loc = gather_match_rows(emb, ident, source)
    assert e is emb and i is ident and s is source and loc is None


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_ranking_vectors_rank_as_the_pair_head(seed: int) -> None:
    rng = np.random.default_rng(seed)
    w = rng.normal(size=(2, 16))  # mixed signs: some dimensions reward distance
    q, g = rng.normal(size=(5, 16)), rng.normal(size=(40, 16)) * rng.uniform(0.5, 2, size=(40, 1))
    head = PairHead(16)
    with torch.no_grad():
        head.fc.weight.copy_(torch.from_numpy(w))
    logits = head.pairwise(torch.from_numpy(q).float(), torch.from_numpy(g).float()).detach().numpy()
    qv, gv = ranking_vectors(w, q, g)
    gn = gv / np.linalg.norm(gv, axis=1, keepdims=True)
    cos = qv @ gn.T  # cosine up to each query's own norm
    for i in range(5):
        assert np.argsort(-cos[i], kind="stable")[:20].tolist() == np.argsort(-logits[i], kind="stable")[:20].tolist()
    assert np.allclose(np.linalg.norm(gv, axis=1), np.linalg.norm(gv[0]), rtol=1e-4)


def _targets(size: int) -> list[dict]:
    out = []
    for src, ident in ((0, [5, -1]), (1, [5, 6]), (0, [6, -1]), (1, [7, -1])):
        kp = torch.zeros(2, MAX_K, 3)
        kp[:, :14, 0] = torch.linspace(20, 60, 14)
        kp[:, :14, 1] = torch.linspace(15, 70, 14)
        kp[:, :14, 2] = 2
        masks = torch.zeros(2, size, size, dtype=torch.uint8)
        masks[0, 10:80, 15:70] = 1
        masks[1, 30:90, 40:92] = 1
        out.append(
            {
                "boxes": torch.tensor([[15.0, 10.0, 70.0, 80.0], [40.0, 30.0, 92.0, 90.0]]),
                "labels": torch.tensor([8, 1]),
                "masks": masks,
                "keypoints": kp,
                "identity": torch.tensor(ident),
                "source": torch.tensor(src),
            }
        )
    return out


@pytest.mark.parametrize(("box_head", "box_convs"), [("mlp", 4), ("conv", 4), ("conv", 1)])
def test_model_losses_outputs_and_gradients(box_head: str, box_convs: int) -> None:
    from df2kit.models import LOSS_NAMES, MatchRCNN

    torch.manual_seed(0)
    cfg = tiny_config(
        None, None, **{"model.box_score_thresh": 0.0, "model.box_head": box_head, "model.box_head_convs": box_convs}
    )
    model = MatchRCNN(cfg.model).train()
    convs = [m for m in model.roi_heads.box_head.modules() if isinstance(m, torch.nn.Conv2d)]
    assert len(convs) == (box_convs if box_head == "conv" else 0)
    images = [torch.rand(3, 96, 96) for _ in range(4)]
    losses = model(images, _targets(96))
    assert set(losses) == set(LOSS_NAMES)
    assert all(torch.isfinite(v) and v.ndim == 0 for v in losses.values())
    assert losses["loss_landmark"].item() > 0 and losses["loss_match"].item() > 0
    assert losses["loss_semantic"].item() > 0  # the small preset has the semantic branch
    sum(losses.values()).backward()
    no_grad = [n for n, p in model.named_parameters() if p.requires_grad and p.grad is None]
    assert no_grad == []
    model.eval()
    with torch.no_grad():
        out = model(images[:2])
    n = out[0]["boxes"].shape[0]
    assert 0 < n <= cfg.model.detections_per_image
    assert out[0]["masks"].shape == (n, 1, 96, 96)
    assert out[0]["keypoints"].shape == (n, MAX_K, 3) and out[0]["embeddings"].shape == (n, cfg.model.embedding_dim)
    k = NUM_LANDMARKS_BY_ID[out[0]["labels"].numpy()]
    vis = out[0]["keypoints"][..., 2].numpy()
    assert ((vis > 0).sum(axis=1) == k).all()  # exactly the predicted category's landmarks are filled


def test_semantic_targets_paint_cell_centres_with_smaller_items_on_top() -> None:
    from df2kit.models.heads import semantic_targets

    big = torch.zeros(16, 16, dtype=torch.uint8)
    big[:, :12] = 1
    small = torch.zeros(16, 16, dtype=torch.uint8)
    small[4:8, 4:8] = 1  # holds the centre (6, 6) of cell (1, 1) only
    masks = [torch.stack([small, big]), torch.zeros(0, 16, 16, dtype=torch.uint8)]
    labels = [torch.tensor([1, 8]), torch.zeros(0, dtype=torch.int64)]
    out = semantic_targets(masks, labels, (5, 6), stride=4)  # a padded map, larger than the 16x16 image
    want = torch.zeros(5, 6, dtype=torch.int64)
    want[:4, :3] = 8  # centres 2, 6, 10 of columns 0..2 lie in the big item's columns 0..11; centre 14 does not
    want[1, 1] = 1
    assert torch.equal(out[0], want)
    assert torch.equal(out[1], torch.zeros(5, 6, dtype=torch.int64))


def test_model_without_semantic_branch_has_no_parameters_and_a_zero_loss() -> None:
    from df2kit.models import MatchRCNN

    torch.manual_seed(0)
    cfg = tiny_config(None, None, **{"model.semantic_head_convs": 0})
    model = MatchRCNN(cfg.model).train()
    assert not [n for n, _ in model.named_parameters() if "semantic" in n]
    losses = model([torch.rand(3, 96, 96) for _ in range(4)], _targets(96))
    assert losses["loss_semantic"].item() == 0.0


def test_box_sampling_settings_reach_the_sampler() -> None:
    from df2kit.errors import ConfigError
    from df2kit.models import MatchRCNN

    cfg = tiny_config(None, None, **{"model.box_positive_fraction": 0.5, "model.box_batch_size_per_image": 16})
    sampler = MatchRCNN(cfg.model).roi_heads.fg_bg_sampler
    assert (sampler.positive_fraction, sampler.batch_size_per_image) == (0.5, 16)
    with pytest.raises(ConfigError, match="box_positive_fraction"):
        tiny_config(None, None, **{"model.box_positive_fraction": 1.5})


def test_torchvision_mask_rcnn_weights_load_by_name(tmp_path) -> None:
    from df2kit.models import MatchRCNN, load_weights, plain_mask_rcnn
    from df2kit.models.config import ModelConfig

    cfg = ModelConfig.preset("small", fpn_channels=32, box_head_dim=64, mask_head_channels=32)
    torch.manual_seed(1)
    plain = plain_mask_rcnn(cfg)  # stands in for torchvision's published COCO file: same parameter names
    torch.save(plain.state_dict(), tmp_path / "maskrcnn.pth")
    torch.manual_seed(2)
    model = MatchRCNN(cfg)
    report = load_weights(model, tmp_path / "maskrcnn.pth")
    assert report.loaded == len([k for k in plain.state_dict()])
    assert all(k.startswith(("roi_heads.landmark", "roi_heads.match", "roi_heads.pair", "roi_heads.semantic")) for k in report.skipped)
    torch.testing.assert_close(model.backbone.body.conv1.weight, plain.backbone.body.conv1.weight)
    torch.testing.assert_close(model.roi_heads.mask_head[0][0].weight, plain.roi_heads.mask_head[0][0].weight)
