"""df2kit's RoIAlign as matrix products (df2kit.models.roi_align) against torchvision's kernel: the same
outputs and the same gradients, for boxes inside, across, beyond the map and smaller than a cell."""

from __future__ import annotations

import pytest

torch = pytest.importorskip("torch")

from torchvision.ops import MultiScaleRoIAlign, roi_align

from df2kit.models.roi_align import MatrixMultiScaleRoIAlign, roi_align_matrix

pytestmark = pytest.mark.model


def _rois(n: int, images: int, extent: tuple[float, float], seed: int) -> torch.Tensor:
    g = torch.Generator().manual_seed(seed)
    w, h = extent
    xy = torch.rand(n, 2, generator=g, dtype=torch.float64) * torch.tensor([w * 1.2, h * 1.2]) - torch.tensor([w * 0.1, h * 0.1])
    wh = torch.rand(n, 2, generator=g, dtype=torch.float64) * torch.tensor([w * 0.8, h * 0.8])
    wh[: n // 6] *= 0.01  # narrower than one cell: torchvision widens them to 1 cell
    xy[n // 6 : n // 3] = torch.tensor([w - 2.0, h - 2.0])  # across the far edges
    xy[n // 3 : n // 3 + 2] = torch.tensor([w + 30.0, h + 30.0])  # wholly beyond the map: all zeros
    index = torch.randint(0, images, (n, 1), generator=g).double()
    return torch.cat([index, xy, xy + wh], dim=1)


@pytest.mark.parametrize(
    ("output", "scale", "grid"), [((7, 7), 0.25, 2), ((14, 14), 0.125, 2), ((7, 5), 0.25, 1), ((3, 4), 0.5, 3)]
)
def test_matches_torchvision_roi_align_and_its_gradients(output, scale, grid) -> None:
    torch.manual_seed(0)
    feats = torch.randn(3, 5, 12, 17, dtype=torch.float64, requires_grad=True)
    rois = _rois(60, 3, (17 / scale, 12 / scale), seed=1)
    ours = roi_align_matrix(feats, rois, output, scale, grid)
    ref = roi_align(feats, rois, output, scale, grid, aligned=False)
    torch.testing.assert_close(ours, ref, rtol=0, atol=1e-12)
    assert ref.abs().sum() > 0 and ref[60 // 3].abs().sum() == 0  # a box beyond the map pools zeros
    up = torch.randn_like(ref)
    (g_ours,) = torch.autograd.grad(ours, feats, up)
    (g_ref,) = torch.autograd.grad(ref, feats, up)
    torch.testing.assert_close(g_ours, g_ref, rtol=0, atol=1e-12)


def test_no_rois_and_a_fixed_sampling_ratio() -> None:
    feats = torch.randn(2, 4, 8, 8)
    assert roi_align_matrix(feats, torch.zeros(0, 5), (7, 7), 0.25, 2).shape == (0, 4, 7, 7)
    with pytest.raises(ValueError, match="sampling_ratio"):
        roi_align_matrix(feats, torch.zeros(1, 5), (7, 7), 0.25, 0)


def _pyramid(requires_grad: bool) -> dict[str, torch.Tensor]:
    torch.manual_seed(0)
    shapes = {"0": (2, 8, 24, 40), "1": (2, 8, 12, 20), "pool": (2, 8, 6, 10)}
    return {k: torch.randn(*s, dtype=torch.float64, requires_grad=requires_grad) for k, s in shapes.items()}


@pytest.mark.parametrize("max_cells", [4096, 500])  # 500: the stride-4 level (960 cells) takes torchvision's kernel
def test_multiscale_pooler_matches_torchvision_when_training(max_cells) -> None:
    boxes = [
        torch.tensor([[0, 0, 50, 40], [10, 5, 90, 96], [3, 3, 13, 12], [0, 0, 160, 96]], dtype=torch.float64),
        torch.tensor([[20, 20, 60, 80], [100, 0, 160, 30]], dtype=torch.float64),
    ]
    shapes = [(96, 160), (96, 160)]
    feats = _pyramid(True)
    ref_pool, ours_pool = MultiScaleRoIAlign(["0", "1"], 7, 2), MatrixMultiScaleRoIAlign(["0", "1"], 7, 2, max_cells=max_cells)
    ref, ours = ref_pool(feats, boxes, shapes), ours_pool(feats, boxes, shapes)
    torch.testing.assert_close(ours, ref, rtol=0, atol=1e-12)
    assert ours_pool.scales == ref_pool.scales  # the same levels: boxes of different sizes reach both levels
    assert len(set(ref_pool.map_levels(boxes).tolist())) == 2
    up = torch.randn_like(ref)
    g_ref = torch.autograd.grad(ref, [feats["0"], feats["1"]], up)
    g_ours = torch.autograd.grad(ours, [feats["0"], feats["1"]], up)
    for a, b in zip(g_ours, g_ref):
        torch.testing.assert_close(a, b, rtol=0, atol=1e-12)
    empty = ours_pool(feats, [b[:0] for b in boxes], shapes)
    assert empty.shape == (0, 8, 7, 7)


def test_inference_uses_torchvisions_kernel(monkeypatch) -> None:
    import df2kit.models.roi_align as mod

    def boom(*a, **k):
        raise AssertionError("the matrix path ran without a gradient")

    monkeypatch.setattr(mod, "roi_align_matrix", boom)
    feats = _pyramid(False)
    boxes = [torch.tensor([[0, 0, 50, 40]], dtype=torch.float64)] * 2
    out = MatrixMultiScaleRoIAlign(["0", "1"], 7, 2)(feats, boxes, [(96, 160)] * 2)
    torch.testing.assert_close(out, MultiScaleRoIAlign(["0", "1"], 7, 2)(feats, boxes, [(96, 160)] * 2))
