"""RoIAlign as two small matrix products: the same numbers as torchvision's, a faster backward on the CPU.

torchvision's ``roi_align`` (``aligned=False``, a fixed ``sampling_ratio``, as ``MultiScaleRoIAlign`` calls
it) averages ``g x g`` bilinear samples per output bin. A bilinear sample is a product of a weight over rows
and a weight over columns, the "outside the map" test is one test on the row and one on the column, and the
average over a ``g x g`` grid is an average over rows times an average over columns. So each RoI's output is

    out[c, i, j] = sum over y, x of  Wy[i, y] * F[c, y, x] * Wx[j, x]

with ``Wy`` (``P x H``) and ``Wx`` (``Q x W``) built from the RoI's box alone: two matrix products per image
and level, instead of a scatter of four weighted adds per sample and channel. On the small feature maps of
the ``small`` preset and the demo (tens of cells a side), a training step's RoIAlign backward, the slowest
part of it on the CPU (12% of a step with torchvision's kernel), becomes a few dense products (README, model
section). The products cost more than torchvision's kernel where no gradient is needed, on large maps (the
paper preset: 800 px, 200 x 336 cells on the finest level) and on a GPU (whose kernel adds atomically), so
:class:`MatrixMultiScaleRoIAlign` uses them only to train on the CPU, on levels of at most ``max_cells``
cells, and torchvision's kernel everywhere else: inference and GPU training are torchvision's own.

Pinned to ``torchvision.ops.roi_align`` by tests/models/test_roi_align.py (outputs and gradients, boxes inside,
across and outside the map).
"""

from __future__ import annotations

import torch
from torch import Tensor
from torchvision.ops import MultiScaleRoIAlign, roi_align

__all__ = ["MatrixMultiScaleRoIAlign", "axis_weights", "roi_align_matrix"]


def axis_weights(start: Tensor, length: Tensor, bins: int, grid: int, size: int) -> Tensor:
    """``(R, bins, size)``: each bin's average bilinear weight on each cell of one axis of the map.

    ``start`` and ``length`` (``(R,)``, in feature-map cells) are the RoIs' extent on this axis, as torchvision's
    kernel computes them; ``grid`` samples per bin; ``size`` cells on the axis. A sample beyond one cell
    outside the map weighs nothing, one between -1 and 0 is clamped to 0, and one past the last cell centre
    reads the last cell only (torchvision's ``bilinear_interpolate``).
    """
    r = start.shape[0]
    steps = (torch.arange(bins * grid, device=start.device, dtype=start.dtype) + 0.5) / grid  # in bins
    pos = start[:, None] + steps[None, :] * (length / bins)[:, None]  # (R, bins * grid)
    inside = (pos >= -1.0) & (pos <= size)
    pos = pos.clamp(min=0.0)
    low = pos.floor().clamp(max=size - 1)
    at_edge = low >= size - 1
    pos = torch.where(at_edge, low, pos)
    frac = pos - low
    low_i = low.long()
    high_i = torch.where(at_edge, low_i, low_i + 1)
    scale = inside.to(start.dtype) / grid
    w = start.new_zeros((r, bins * grid, size))
    w.scatter_add_(2, low_i[..., None], ((1.0 - frac) * scale)[..., None])
    w.scatter_add_(2, high_i[..., None], (frac * scale)[..., None])
    return w.reshape(r, bins, grid, size).sum(dim=2)


def _bin_weights(rois: Tensor, scale: float, out: tuple[int, int], grid: int, h: int, w: int) -> tuple[Tensor, Tensor]:
    box = rois[:, 1:].to(torch.float64 if rois.dtype == torch.float64 else torch.float32) * scale
    x1, y1, x2, y2 = box.unbind(1)
    wy = axis_weights(y1, (y2 - y1).clamp(min=1.0), out[0], grid, h)
    wx = axis_weights(x1, (x2 - x1).clamp(min=1.0), out[1], grid, w)
    return wy, wx


def roi_align_matrix(
    features: Tensor, rois: Tensor, output_size: tuple[int, int], spatial_scale: float, sampling_ratio: int
) -> Tensor:
    """``torchvision.ops.roi_align(features, rois, output_size, spatial_scale, sampling_ratio, aligned=False)``
    computed as matrix products (module docstring). ``rois`` is ``(R, 5)``: batch index, x1, y1, x2, y2 in
    image pixels; ``sampling_ratio`` must be > 0."""
    if sampling_ratio <= 0:
        raise ValueError("roi_align_matrix needs a fixed sampling_ratio > 0")
    _, c, h, w = features.shape
    p, q = output_size
    r = rois.shape[0]
    out = features.new_zeros((r, c, p, q))
    if r == 0:
        return out
    wy, wx = _bin_weights(rois, spatial_scale, (p, q), sampling_ratio, h, w)
    wy, wx = wy.to(features.dtype), wx.to(features.dtype)
    index = rois[:, 0].long()
    for b in torch.unique(index).tolist():
        sel = torch.nonzero(index == b).squeeze(1)
        k = sel.numel()
        fb = features[b].permute(1, 0, 2).reshape(h, c * w)  # (H, C*W)
        rows = (wy[sel].reshape(k * p, h) @ fb).reshape(k, p * c, w)  # (k, P*C, W)
        res = torch.bmm(rows, wx[sel].transpose(1, 2))  # (k, P*C, Q)
        out[sel] = res.reshape(k, p, c, q).permute(0, 2, 1, 3)
    return out


def _use_matrix(f: Tensor, max_cells: int) -> bool:
    return f.device.type == "cpu" and torch.is_grad_enabled() and f.requires_grad and f.shape[-2] * f.shape[-1] <= max_cells


class MatrixMultiScaleRoIAlign(MultiScaleRoIAlign):
    """torchvision's ``MultiScaleRoIAlign`` (same levels, scales and outputs) with :func:`roi_align_matrix`
    where it is faster: CPU features that need a gradient, on levels of at most ``max_cells`` cells."""

    def __init__(self, featmap_names: list[str], output_size: int, sampling_ratio: int, *, max_cells: int = 4096) -> None:
        super().__init__(featmap_names, output_size, sampling_ratio)
        self.max_cells = max_cells

    def forward(  # type: ignore[override]
        self, x: dict[str, Tensor], boxes: list[Tensor], image_shapes: list[tuple[int, int]]
    ) -> Tensor:
        feats = [v for k, v in x.items() if k in self.featmap_names]
        if not any(_use_matrix(f, self.max_cells) for f in feats):
            return super().forward(x, boxes, image_shapes)  # inference, GPUs, large maps: torchvision's own
        if self.scales is None or self.map_levels is None:
            super().forward(x, [b[:0] for b in boxes], image_shapes)  # sets the scales and the level mapper
        assert self.scales is not None and self.map_levels is not None
        rois = torch.cat(
            [torch.cat([b.new_full((len(b), 1), i), b], dim=1) for i, b in enumerate(boxes)], dim=0
        )
        size = tuple(self.output_size)
        levels = self.map_levels(boxes) if len(feats) > 1 else rois.new_zeros(len(rois), dtype=torch.int64)
        result = feats[0].new_zeros((len(rois), feats[0].shape[1], *size))
        for level, (f, scale) in enumerate(zip(feats, self.scales)):
            idx = torch.nonzero(levels == level).squeeze(1)
            if _use_matrix(f, self.max_cells):
                pooled = roi_align_matrix(f, rois[idx], size, scale, self.sampling_ratio)  # type: ignore[arg-type]
            else:
                pooled = roi_align(f, rois[idx], size, scale, self.sampling_ratio)
            result[idx] = pooled.to(result.dtype)
        return result
