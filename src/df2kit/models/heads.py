"""The two heads Match R-CNN adds to Mask R-CNN: landmarks and matching.

Landmarks
---------
One heatmap per landmark, as Keypoint R-CNN: a few 3x3 convs on 14x14 RoI features, then a 4x4 stride-2
transposed conv (28x28) and optionally a 2x bilinear upsampling (56x56). The transposed conv holds the
weights of all 294 landmarks, but a RoI only ever computes the channels of one category's slice
(:class:`SlicedHeatmapPredictor`): the ground-truth category's slice while training, the predicted
category's slice at inference. So a detection costs at most 39 heatmaps, never 294. Outputs are padded to
``MAX_K`` = 39 channels; channel ``j`` of a RoI of category ``c`` is category-local landmark ``j + 1``.

Matching
--------
The matching network of the dataset paper (spec section 6): RoIAlign 7x7 -> three 3x3 convs + ReLU -> a 3x3
conv to ``match_hidden`` channels + ReLU -> global average pooling -> FC -> BatchNorm = the item embedding.
The pair head takes the squared difference of two embeddings -> FC -> 2 logits (no match, match). The same
weights embed shop and user items.

Because the pair logit is ``sum_i d_i (a_i - g_i)^2 + c`` (``d`` = difference of the FC's two weight rows),
ranking a gallery by match probability is an inner-product search on rewritten vectors
(:func:`ranking_vectors`); that is how ``predict`` ranks shop items with a plain vector index.

Semantic branch (training only)
-------------------------------
Not in the paper: an optional per-pixel category classifier on the finest FPN level, as the semantic branch
of Hybrid Task Cascade (:class:`SemanticHead`, ``ModelConfig.semantic_head_convs``). Its label map is painted
from the ground-truth masks (:func:`semantic_targets`), so every pixel of every garment says its category to
the shared features, not only the few sampled RoIs. Inference never runs it.
"""

from __future__ import annotations

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from ..layout import NUM_LANDMARKS, NUM_LANDMARKS_BY_ID, OFFSET_BY_ID

__all__ = [
    "MAX_K",
    "LandmarkHead",
    "MatchingHead",
    "PairHead",
    "SemanticHead",
    "SlicedHeatmapPredictor",
    "channel_valid",
    "decode_heatmaps",
    "gather_match_rows",
    "landmark_loss",
    "landmark_targets",
    "match_loss",
    "ranking_vectors",
    "semantic_loss",
    "semantic_targets",
]

#: Most landmarks of one category (long sleeve dress).
MAX_K = int(NUM_LANDMARKS_BY_ID.max())


class LandmarkHead(nn.Sequential):
    """``convs`` 3x3 convs + ReLU on RoI features (Keypoint R-CNN uses 8 of 512 channels)."""

    def __init__(self, in_channels: int, channels: int, convs: int) -> None:
        layers: list[nn.Module] = []
        c = in_channels
        for _ in range(convs):
            conv = nn.Conv2d(c, channels, 3, padding=1)
            nn.init.kaiming_normal_(conv.weight, mode="fan_out", nonlinearity="relu")
            nn.init.zeros_(conv.bias)
            layers += [conv, nn.ReLU(inplace=True)]
            c = channels
        super().__init__(*layers)
        self.out_channels = c


class SlicedHeatmapPredictor(nn.Module):
    """Heatmap logits of only the landmarks of each RoI's category (see the module docstring).

    ``forward(x, categories)`` takes RoI features ``(n, C, h, w)`` and category ids ``(n,)`` in 1..13 and
    returns ``(n, MAX_K, 2h, 2w)`` logits (``4h`` with ``upsample``); channels past the category's count are 0.
    """

    def __init__(self, in_channels: int, *, upsample: bool) -> None:
        super().__init__()
        self.weight = nn.Parameter(torch.empty(in_channels, NUM_LANDMARKS, 4, 4))
        self.bias = nn.Parameter(torch.zeros(NUM_LANDMARKS))
        nn.init.kaiming_normal_(self.weight, mode="fan_out", nonlinearity="relu")
        self.upsample = upsample

    def forward(self, x: torch.Tensor, categories: torch.Tensor) -> torch.Tensor:
        n, _, h, w = x.shape
        scale = 4 if self.upsample else 2
        out = x.new_zeros((n, MAX_K, h * scale, w * scale))
        if n == 0:
            # keep every parameter in the graph (distributed training needs a gradient for each)
            return out + 0.0 * (self.weight.sum() + self.bias.sum())
        for c in torch.unique(categories).tolist():
            idx = torch.nonzero(categories == c).squeeze(1)
            o, k = int(OFFSET_BY_ID[c]), int(NUM_LANDMARKS_BY_ID[c])
            y = F.conv_transpose2d(x[idx], self.weight[:, o : o + k], self.bias[o : o + k], stride=2, padding=1)
            if self.upsample:
                y = F.interpolate(y, scale_factor=2.0, mode="bilinear", align_corners=False)
            out[idx, :k] = y.to(out.dtype)
        return out

    def full(self, x: torch.Tensor) -> torch.Tensor:
        """All 294 heatmaps of every RoI (reference for tests; never used by the model)."""
        y = F.conv_transpose2d(x, self.weight, self.bias, stride=2, padding=1)
        if self.upsample:
            y = F.interpolate(y, scale_factor=2.0, mode="bilinear", align_corners=False)
        return y


_COUNTS = torch.tensor(NUM_LANDMARKS_BY_ID.tolist(), dtype=torch.long)


def channel_valid(categories: torch.Tensor) -> torch.Tensor:
    """(n, MAX_K) True where channel j is a landmark of the RoI's category."""
    counts = _COUNTS.to(categories.device)[categories]
    return torch.arange(MAX_K, device=categories.device)[None, :] < counts[:, None]


def landmark_targets(
    landmarks: torch.Tensor, rois: torch.Tensor, categories: torch.Tensor, size: int
) -> tuple[torch.Tensor, torch.Tensor]:
    """Heatmap cell of each landmark of each RoI: ``(index (n, MAX_K) = y * size + x, valid (n, MAX_K))``.

    ``landmarks`` is ``(n, MAX_K, 3)`` category-local ``[x, y, v]`` in image pixels. A landmark trains its
    heatmap when it is labeled (v > 0), lies inside the RoI and exists for the category. Cells follow
    Keypoint R-CNN: ``floor((x - x1) * size / width)``, a point on the far edge belongs to the last cell.
    """
    x1, y1, x2, y2 = (rois[:, i : i + 1] for i in range(4))
    sx = size / (x2 - x1).clamp(min=1e-6)
    sy = size / (y2 - y1).clamp(min=1e-6)
    x, y, v = landmarks[..., 0], landmarks[..., 1], landmarks[..., 2]
    ix = ((x - x1) * sx).floor().long()
    iy = ((y - y1) * sy).floor().long()
    ix = torch.where(x == x2, torch.full_like(ix, size - 1), ix)
    iy = torch.where(y == y2, torch.full_like(iy, size - 1), iy)
    valid = (v > 0) & (ix >= 0) & (iy >= 0) & (ix < size) & (iy < size) & channel_valid(categories)
    index = torch.where(valid, iy * size + ix, torch.zeros_like(ix))
    return index, valid


def landmark_loss(logits: torch.Tensor, index: torch.Tensor, valid: torch.Tensor) -> torch.Tensor:
    """Cross-entropy over each valid landmark's heatmap (spatial softmax), averaged over valid landmarks."""
    n, k, h, w = logits.shape
    if n == 0 or not bool(valid.any()):
        return logits.sum() * 0.0
    flat = logits.reshape(n * k, h * w)
    sel = valid.reshape(-1)
    return F.cross_entropy(flat[sel].float(), index.reshape(-1)[sel])


def decode_heatmaps(logits: torch.Tensor, rois: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """Landmark positions in image pixels from heatmap logits, for all RoIs at once.

    Returns ``(xy (n, MAX_K, 2), score (n, MAX_K))``: the arg-max cell, moved a quarter cell towards its
    larger neighbour (a standard sub-cell refinement), mapped back through the RoI box; score = the max logit.
    Vectorised: no loop over RoIs, no resize of heatmaps to box size.
    """
    n, k, h, w = logits.shape
    if n == 0:
        return logits.new_zeros((0, k, 2)), logits.new_zeros((0, k))
    lg = logits.float()
    flat = lg.reshape(n, k, h * w)
    score, pos = flat.max(dim=2)
    iy = torch.div(pos, w, rounding_mode="floor")
    ix = pos - iy * w

    def at(yy: torch.Tensor, xx: torch.Tensor) -> torch.Tensor:
        return flat.gather(2, (yy.clamp(0, h - 1) * w + xx.clamp(0, w - 1)).unsqueeze(2)).squeeze(2)

    dx = torch.sign(at(iy, ix + 1) - at(iy, ix - 1)) * 0.25
    dy = torch.sign(at(iy + 1, ix) - at(iy - 1, ix)) * 0.25
    dx = torch.where((ix > 0) & (ix < w - 1), dx, torch.zeros_like(dx))
    dy = torch.where((iy > 0) & (iy < h - 1), dy, torch.zeros_like(dy))
    r = rois.float()
    bw = (r[:, 2] - r[:, 0]).clamp(min=1e-6)[:, None]
    bh = (r[:, 3] - r[:, 1]).clamp(min=1e-6)[:, None]
    x = r[:, 0:1] + (ix.float() + 0.5 + dx) * bw / w
    y = r[:, 1:2] + (iy.float() + 0.5 + dy) * bh / h
    return torch.stack([x, y], dim=2), score


class MatchingHead(nn.Module):
    """Item embedding from 7x7 RoI features (spec section 6; widths configurable for small models)."""

    def __init__(self, in_channels: int, channels: int = 256, hidden: int = 1024, embedding_dim: int = 256) -> None:
        super().__init__()
        layers: list[nn.Module] = []
        c = in_channels
        for _ in range(3):
            layers += [nn.Conv2d(c, channels, 3, padding=1), nn.ReLU(inplace=True)]
            c = channels
        layers += [nn.Conv2d(c, hidden, 3, padding=1), nn.ReLU(inplace=True)]
        self.convs = nn.Sequential(*layers)
        for m in self.convs:
            if isinstance(m, nn.Conv2d):
                nn.init.kaiming_normal_(m.weight, mode="fan_out", nonlinearity="relu")
                nn.init.zeros_(m.bias)
        self.fc = nn.Linear(hidden, embedding_dim)
        self.bn = nn.BatchNorm1d(embedding_dim)
        self.embedding_dim = embedding_dim

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.normalize(self.features(x))

    def features(self, x: torch.Tensor) -> torch.Tensor:
        """The embedding before its BatchNorm: ``(n, embedding_dim)``."""
        return self.fc(self.convs(x).mean(dim=(2, 3)))

    def normalize(self, y: torch.Tensor) -> torch.Tensor:
        """The BatchNorm of :meth:`features` (in training, over the rows given: training with several
        processes gives every process's rows, :func:`gather_match_rows`, so the statistics are the batch's)."""
        if y.shape[0] == 1 and self.training:
            # BatchNorm cannot train on one sample; normalise with the running statistics instead
            return F.batch_norm(y, self.bn.running_mean, self.bn.running_var, self.bn.weight, self.bn.bias, False)
        if y.shape[0] == 0:
            return y + 0.0 * (self.bn.weight.sum() + self.bn.bias.sum())
        return self.bn(y)


class PairHead(nn.Module):
    """Match logits of embedding pairs: FC on the squared difference -> (no match, match)."""

    def __init__(self, embedding_dim: int = 256) -> None:
        super().__init__()
        self.fc = nn.Linear(embedding_dim, 2)

    def forward(self, a: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
        return self.fc((a - b) ** 2)

    def pairwise(self, queries: torch.Tensor, gallery: torch.Tensor) -> torch.Tensor:
        """Match logit (match minus no match) of every query against every gallery item: ``(nq, ng)``."""
        w = self.fc.weight[1] - self.fc.weight[0]
        c = self.fc.bias[1] - self.fc.bias[0]
        q2 = (queries**2) @ w
        g2 = (gallery**2) @ w
        return q2[:, None] + g2[None, :] - 2.0 * (queries * w) @ gallery.T + c


def match_loss(
    embeddings: torch.Tensor,
    identity: torch.Tensor,
    source: torch.Tensor,
    pair_head: PairHead,
    local: torch.Tensor | None = None,
) -> torch.Tensor:
    """Cross-entropy of the pair head over every (user RoI, shop RoI) pair of the batch.

    A pair is positive when both RoIs belong to the same style identity (same pair_id and style > 0; identity
    >= 0). Positives are rare, so the loss is the mean over positive pairs plus the mean over negative pairs,
    halved (either alone when the other kind is absent).

    ``local`` (bool, one per RoI) marks this process's RoIs when ``embeddings`` also holds other processes'
    (:func:`gather_match_rows`): only pairs with a local side count, so that over all processes every pair of
    the whole batch gives its gradient once to each of its two sides.
    """
    user, shop = source == 1, source == 0
    eu, es = embeddings[user], embeddings[shop]
    zero = embeddings.sum() * 0.0 + sum(p.sum() for p in pair_head.parameters()) * 0.0
    if eu.shape[0] == 0 or es.shape[0] == 0:
        return zero
    iu, is_ = identity[user], identity[shop]
    logits = pair_head(eu[:, None, :], es[None, :, :]).reshape(-1, 2).float()
    label = ((iu[:, None] == is_[None, :]) & (iu[:, None] >= 0)).reshape(-1)
    ce = F.cross_entropy(logits, label.long(), reduction="none")
    if local is not None:
        keep = (local[user][:, None] | local[shop][None, :]).reshape(-1)
        if not bool(keep.any()):  # this process has no matching row: only the others' pairs
            return zero
        ce, label = ce[keep], label[keep]
    parts = [ce[label].mean()] if bool(label.any()) else []
    if bool((~label).any()):
        parts.append(ce[~label].mean())
    return sum(parts) / len(parts) + zero


def gather_match_rows(
    embeddings: torch.Tensor, identity: torch.Tensor, source: torch.Tensor
) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor, torch.Tensor | None]:
    """The matching rows of every training process (``torch.distributed``), so that each process's matching
    loss pairs its user and shop RoIs with the whole batch's, as one process would; returns ``(embeddings,
    identity, source, local)``. Gather the embeddings before their BatchNorm (:meth:`MatchingHead.features`),
    so that it normalises with the whole batch's statistics: over the few rows of one process (two when a
    process holds one shop/user couple) BatchNorm maps every dimension to about -1 or +1 and matching cannot
    learn. Other processes' rows carry no gradient here: each process sends the gradient of its own (see
    ``local`` in :func:`match_loss`). Outside distributed training: the rows as given and ``local=None``."""
    import torch.distributed as dist

    if not (dist.is_available() and dist.is_initialized()) or dist.get_world_size() == 1:
        return embeddings, identity, source, None
    world, rank = dist.get_world_size(), dist.get_rank()
    n = embeddings.new_tensor([embeddings.shape[0]], dtype=torch.int64)
    counts = [torch.zeros_like(n) for _ in range(world)]
    dist.all_gather(counts, n)
    sizes = [int(c) for c in counts]
    m = max(sizes)
    if m == 0:  # no matching row anywhere in this batch
        return embeddings, identity, source, None
    mine_f = embeddings.new_zeros((m, embeddings.shape[1]), dtype=torch.float32)
    mine_f[: sizes[rank]] = embeddings.detach().float()
    mine_i = identity.new_zeros((m, 2), dtype=torch.int64)  # identities stay exact as integers
    mine_i[: sizes[rank], 0], mine_i[: sizes[rank], 1] = identity, source
    all_f = [torch.empty_like(mine_f) for _ in range(world)]
    all_i = [torch.empty_like(mine_i) for _ in range(world)]
    dist.all_gather(all_f, mine_f)
    dist.all_gather(all_i, mine_i)
    emb, ident, src, local = [], [], [], []
    for r, (pf, pi, k) in enumerate(zip(all_f, all_i, sizes)):
        emb.append(embeddings if r == rank else pf[:k].to(embeddings.dtype))
        ident.append(identity if r == rank else pi[:k, 0].to(identity.dtype))
        src.append(source if r == rank else pi[:k, 1].to(source.dtype))
        local.append(torch.full((k,), r == rank, dtype=torch.bool, device=embeddings.device))
    return torch.cat(emb), torch.cat(ident), torch.cat(src), torch.cat(local)


def ranking_vectors(
    pair_weight: np.ndarray, query: np.ndarray, gallery: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """Rewrite embeddings so that a cosine or inner-product search ranks as the pair head does.

    ``pair_weight`` is the pair head's ``(2, D)`` FC weight. With ``d`` = row 1 - row 0 the match logit of
    query ``a`` and gallery item ``g`` is ``sum d (a - g)^2 + const = [a, 1, 0] . [-2 d g, sum d g^2, r] +
    (terms of a alone)``, so for a fixed query the inner product of the rewritten vectors orders the gallery
    exactly by match probability. ``r`` pads every gallery vector to the same norm, which makes cosine
    similarity order it the same way too. Returns ``(queries (nq, D + 2), gallery (ng, D + 2))`` float32.
    """
    d = (pair_weight[1] - pair_weight[0]).astype(np.float64)
    q = np.asarray(query, dtype=np.float64)
    g = np.asarray(gallery, dtype=np.float64)
    gq = np.concatenate([-2.0 * g * d, (g * g) @ d[:, None]], axis=1)
    norms2 = (gq * gq).sum(axis=1)
    m2 = float(norms2.max()) if len(norms2) else 0.0
    pad = np.sqrt(np.maximum(m2 - norms2, 0.0))[:, None]
    gv = np.concatenate([gq, pad], axis=1)
    qv = np.concatenate([q, np.ones((len(q), 1)), np.zeros((len(q), 1))], axis=1)
    return qv.astype(np.float32), gv.astype(np.float32)


class SemanticHead(nn.Sequential):
    """``convs`` 3x3 convs + ReLU, then a 1x1 conv to ``num_classes`` logits (the categories and background)."""

    def __init__(self, in_channels: int, convs: int, num_classes: int) -> None:
        layers: list[nn.Module] = []
        for _ in range(convs):
            layers += [nn.Conv2d(in_channels, in_channels, 3, padding=1), nn.ReLU(inplace=True)]
        layers.append(nn.Conv2d(in_channels, num_classes, 1))
        super().__init__(*layers)


def semantic_targets(
    masks: list[torch.Tensor], labels: list[torch.Tensor], feature_size: tuple[int, int], stride: int
) -> torch.Tensor:
    """Category of each cell of a ``feature_size`` map of stride ``stride`` (0 = background): ``(N, h, w)``.

    ``masks[i]`` (n, H, W) are image ``i``'s ground-truth masks at the network's input size (before padding),
    sampled at the cell centres. Larger items are painted first, so where two overlap the smaller one (usually
    the one in front, say a top over trousers) wins.
    """
    h, w = feature_size
    out = torch.zeros((len(masks), h, w), dtype=torch.int64, device=labels[0].device if labels else None)
    c = stride // 2
    for i, (m, lab) in enumerate(zip(masks, labels)):
        if m.numel() == 0:
            continue
        cells = m[:, c::stride, c::stride][:, :h, :w] > 0
        hh, ww = cells.shape[-2:]
        for j in torch.argsort(cells.flatten(1).sum(1), descending=True, stable=True).tolist():
            out[i, :hh, :ww][cells[j]] = lab[j].to(torch.int64)
    return out


def semantic_loss(logits: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
    """Mean cross-entropy over all cells (background included)."""
    return F.cross_entropy(logits, target)
