"""Match R-CNN on torchvision's Mask R-CNN: boxes + classes, masks, landmarks and item embeddings.

:class:`MatchRCNN` *is* a ``torchvision.models.detection.MaskRCNN`` (same backbone, RPN, box and mask heads,
same parameter names, so torchvision's COCO Mask R-CNN weights load into it); only its RoI heads are
:class:`MatchRoIHeads`, which add the landmark stream and the matching network of
:mod:`df2kit.models.heads`.

Training: ``model(images, targets)`` returns the loss dict ``loss_objectness, loss_rpn_box_reg,
loss_classifier, loss_box_reg, loss_mask, loss_landmark, loss_match, loss_semantic`` (the last is 0 without a
semantic branch, ``ModelConfig.semantic_head_convs``). A target holds ``boxes`` (n, 4)
xyxy, ``labels`` (n,) category ids 1..13, ``masks`` (n, H, W) uint8, ``keypoints`` (n, 39, 3) category-local
landmarks ``[x, y, v]`` (see ``MAX_K``), ``identity`` (n,) style identity (-1 for style 0) and ``source``
(0 shop, 1 user).

Inference: ``model(images)`` returns per image ``boxes, labels, scores, masks`` (n, 1, H, W probabilities),
``keypoints`` (n, 39, 3) with v = 1 on the category's landmarks and 0 on padding, ``keypoints_scores`` and
``embeddings`` (n, embedding_dim).

>>> from df2kit.models import MatchRCNN, ModelConfig
>>> model = MatchRCNN(ModelConfig.preset("small")).eval()              # doctest: +SKIP
>>> out = model([torch.rand(3, 224, 224)])[0]                           # doctest: +SKIP
>>> sorted(out)                                                         # doctest: +SKIP
['boxes', 'embeddings', 'keypoints', 'keypoints_scores', 'labels', 'masks', 'scores']
"""

from __future__ import annotations

from typing import Any

import torch
from torch import nn
from torchvision.models.detection import MaskRCNN
from torchvision.models.detection.anchor_utils import AnchorGenerator
from torchvision.models.detection.faster_rcnn import FastRCNNConvFCHead, FastRCNNPredictor, TwoMLPHead
from torchvision.models.detection.mask_rcnn import MaskRCNNHeads, MaskRCNNPredictor
from torchvision.models.detection.roi_heads import RoIHeads, fastrcnn_loss, maskrcnn_inference, maskrcnn_loss
from torchvision.ops import MultiScaleRoIAlign

from ..layout import NUM_CATEGORIES
from .backbone import build_backbone, feature_names, finest_stride
from .config import ModelConfig
from .heads import (
    LandmarkHead,
    MatchingHead,
    PairHead,
    SemanticHead,
    SlicedHeatmapPredictor,
    channel_valid,
    decode_heatmaps,
    gather_match_rows,
    landmark_loss,
    landmark_targets,
    match_loss,
    semantic_loss,
    semantic_targets,
)
from .roi_align import MatrixMultiScaleRoIAlign

__all__ = ["LOSS_NAMES", "MatchRCNN", "MatchRoIHeads", "plain_mask_rcnn"]

#: The losses the model returns in training mode, in logging order.
LOSS_NAMES = (
    "loss_objectness",
    "loss_rpn_box_reg",
    "loss_classifier",
    "loss_box_reg",
    "loss_mask",
    "loss_landmark",
    "loss_match",
    "loss_semantic",
)


def _pairwise_iou(a: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
    """IoU of a[i] with b[i] (same length)."""
    lt = torch.max(a[:, :2], b[:, :2])
    rb = torch.min(a[:, 2:], b[:, 2:])
    wh = (rb - lt).clamp(min=0)
    inter = wh[:, 0] * wh[:, 1]
    area_a = (a[:, 2] - a[:, 0]).clamp(min=0) * (a[:, 3] - a[:, 1]).clamp(min=0)
    area_b = (b[:, 2] - b[:, 0]).clamp(min=0) * (b[:, 3] - b[:, 1]).clamp(min=0)
    return inter / (area_a + area_b - inter).clamp(min=1e-9)


class MatchRoIHeads(RoIHeads):
    """torchvision's RoIHeads (box + mask) plus the landmark stream and the matching network."""

    def __init__(
        self,
        base: RoIHeads,
        *,
        landmark_head: LandmarkHead,
        landmark_predictor: SlicedHeatmapPredictor,
        match_head: MatchingHead,
        pair_head: PairHead,
        match_rois_per_image: int,
        match_iou: float,
        semantic_head: SemanticHead | None = None,
        semantic_level: tuple[str, int] | None = None,
    ) -> None:
        # the configured box/mask parts of a plain RoIHeads, under the same names (weights stay compatible)
        super().__init__(
            base.box_roi_pool,
            base.box_head,
            base.box_predictor,
            base.proposal_matcher.high_threshold,
            base.proposal_matcher.low_threshold,
            base.fg_bg_sampler.batch_size_per_image,
            base.fg_bg_sampler.positive_fraction,
            base.box_coder.weights,
            base.score_thresh,
            base.nms_thresh,
            base.detections_per_img,
            mask_roi_pool=base.mask_roi_pool,
            mask_head=base.mask_head,
            mask_predictor=base.mask_predictor,
        )
        self.landmark_head = landmark_head
        self.landmark_predictor = landmark_predictor
        self.match_head = match_head
        self.pair_head = pair_head
        self.match_rois_per_image = match_rois_per_image
        self.match_iou = match_iou
        self.semantic_head = semantic_head
        self.semantic_level = semantic_level  # (feature name, stride) the branch reads; needed with a branch
        if semantic_head is not None and semantic_level is None:
            raise ValueError("a semantic head needs semantic_level: (FPN map name, its stride)")

    # ---- training helpers ------------------------------------------------------------------------------
    def _match_rois(
        self,
        proposals: list[torch.Tensor],
        matched_idxs: list[torch.Tensor],
        labels: list[torch.Tensor],
        targets: list[dict[str, torch.Tensor]],
    ) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        """Rows (into the batch's sampled proposals) that train the matching head, with identity and source."""
        rows, ident, source = [], [], []
        start = 0
        for props, midx, lab, t in zip(proposals, matched_idxs, labels, targets):
            pos = torch.nonzero(lab > 0).squeeze(1)
            if pos.numel():
                iou = _pairwise_iou(props[pos], t["boxes"][midx[pos]].to(props.dtype))
                pos = pos[iou > self.match_iou]
            if pos.numel() > self.match_rois_per_image:
                pos = pos[torch.randperm(pos.numel(), device=pos.device)[: self.match_rois_per_image]]
            rows.append(pos + start)
            ident.append(t["identity"][midx[pos]])
            source.append(t["source"].reshape(1).expand(pos.numel()))
            start += props.shape[0]
        return torch.cat(rows), torch.cat(ident), torch.cat(source)

    def _semantic_loss(self, features: dict[str, torch.Tensor], targets: list[dict[str, torch.Tensor]]) -> torch.Tensor:
        if self.semantic_head is None or self.semantic_level is None:
            return next(iter(features.values())).new_zeros(())
        name, stride = self.semantic_level
        f = features[name]
        target = semantic_targets([t["masks"] for t in targets], [t["labels"] for t in targets], f.shape[-2:], stride)
        return semantic_loss(self.semantic_head(f), target)

    def forward(  # type: ignore[override]
        self,
        features: dict[str, torch.Tensor],
        proposals: list[torch.Tensor],
        image_shapes: list[tuple[int, int]],
        targets: list[dict[str, torch.Tensor]] | None = None,
    ) -> tuple[list[dict[str, torch.Tensor]], dict[str, torch.Tensor]]:
        if self.training:
            if targets is None:
                raise ValueError("training needs targets")
            proposals, matched_idxs, labels, regression_targets = self.select_training_samples(proposals, targets)
        pooled = self.box_roi_pool(features, proposals, image_shapes)
        class_logits, box_regression = self.box_predictor(self.box_head(pooled))

        if self.training:
            assert targets is not None  # for type checkers; checked above
            losses: dict[str, torch.Tensor] = {}
            loss_classifier, loss_box_reg = fastrcnn_loss(class_logits, box_regression, labels, regression_targets)
            losses["loss_classifier"] = loss_classifier
            losses["loss_box_reg"] = loss_box_reg
            pos_props, pos_midx = [], []
            for props, midx, lab in zip(proposals, matched_idxs, labels):
                pos = torch.nonzero(lab > 0).squeeze(1)
                pos_props.append(props[pos])
                pos_midx.append(midx[pos])
            f14 = self.mask_roi_pool(features, pos_props, image_shapes)
            mask_logits = self.mask_predictor(self.mask_head(f14))
            losses["loss_mask"] = maskrcnn_loss(
                mask_logits, pos_props, [t["masks"] for t in targets], [t["labels"] for t in targets], pos_midx
            )
            # landmarks: the ground-truth category's slice only
            gt_cat = torch.cat([t["labels"][m] for t, m in zip(targets, pos_midx)])
            gt_lm = torch.cat([t["keypoints"][m] for t, m in zip(targets, pos_midx)])
            heat = self.landmark_predictor(self.landmark_head(f14), gt_cat)
            index, valid = landmark_targets(gt_lm, torch.cat(pos_props), gt_cat, heat.shape[-1])
            losses["loss_landmark"] = landmark_loss(heat, index, valid)
            # matching: ~match_rois_per_image confident positives per image, every user x shop pair of the batch
            rows, ident, source = self._match_rois(proposals, matched_idxs, labels, targets)
            # with several training processes, normalised and paired with the whole batch's RoIs (each process
            # holds part of the batch)
            feat, ident, source, local = gather_match_rows(self.match_head.features(pooled[rows]), ident, source)
            emb = self.match_head.normalize(feat)
            losses["loss_match"] = match_loss(emb, ident, source, self.pair_head, local)
            losses["loss_semantic"] = self._semantic_loss(features, targets)
            return [], losses

        boxes, scores, cats = self.postprocess_detections(class_logits, box_regression, proposals, image_shapes)
        result = [{"boxes": b, "labels": c, "scores": s} for b, c, s in zip(boxes, cats, scores)]
        counts = [b.shape[0] for b in boxes]
        f14 = self.mask_roi_pool(features, boxes, image_shapes)
        mask_logits = self.mask_predictor(self.mask_head(f14))
        all_cats = torch.cat(cats)
        heat = self.landmark_predictor(self.landmark_head(f14), all_cats)
        xy, lscore = decode_heatmaps(heat, torch.cat(boxes))
        vis = channel_valid(all_cats).to(xy.dtype)
        kp = torch.cat([xy * vis[..., None], vis[..., None]], dim=2)
        emb = self.match_head(self.box_roi_pool(features, boxes, image_shapes))
        for r, m, k, ks, e in zip(
            result,
            maskrcnn_inference(mask_logits, cats),
            kp.split(counts),
            (lscore * vis).split(counts),
            emb.split(counts),
        ):
            r["masks"] = m
            r["keypoints"] = k
            r["keypoints_scores"] = ks
            r["embeddings"] = e
        return result, {}


def _box_head(config: ModelConfig) -> nn.Module:
    """The box head of ``config.box_head`` on 7x7 RoI features; its output has ``box_head_dim`` features."""
    c = config.fpn_channels
    if config.box_head == "conv":  # torchvision's Mask R-CNN v2 head, at the FPN's width
        return FastRCNNConvFCHead((c, 7, 7), [c] * config.box_head_convs, [config.box_head_dim], norm_layer=nn.BatchNorm2d)
    return TwoMLPHead(c * 49, config.box_head_dim)


def _detector_kwargs(config: ModelConfig, pooler: type[MultiScaleRoIAlign] = MatrixMultiScaleRoIAlign) -> dict[str, Any]:
    """torchvision ``MaskRCNN`` arguments of ``config``; ``pooler`` pools RoI features (df2kit's own pools
    the same numbers as torchvision's, faster to train on a CPU: :mod:`df2kit.models.roi_align`)."""
    names = feature_names(config)
    c = config.fpn_channels
    return {
        "min_size": config.min_size,
        "max_size": config.max_size,
        "rpn_anchor_generator": AnchorGenerator(
            tuple((s,) for s in config.anchor_sizes), ((0.5, 1.0, 2.0),) * len(config.anchor_sizes)
        ),
        "rpn_pre_nms_top_n_train": config.rpn_pre_nms_top_n_train,
        "rpn_post_nms_top_n_train": config.rpn_post_nms_top_n_train,
        "rpn_pre_nms_top_n_test": config.rpn_pre_nms_top_n_test,
        "rpn_post_nms_top_n_test": config.rpn_post_nms_top_n_test,
        "rpn_batch_size_per_image": config.rpn_batch_size_per_image,
        "box_roi_pool": pooler(names, 7, 2),
        "box_head": _box_head(config),
        "box_predictor": FastRCNNPredictor(config.box_head_dim, NUM_CATEGORIES + 1),
        "box_score_thresh": config.box_score_thresh,
        "box_nms_thresh": config.box_nms_thresh,
        "box_detections_per_img": config.detections_per_image,
        "box_batch_size_per_image": config.box_batch_size_per_image,
        "box_positive_fraction": config.box_positive_fraction,
        "mask_roi_pool": pooler(names, 14, 2),
        "mask_head": MaskRCNNHeads(c, (config.mask_head_channels,) * config.mask_head_convs, 1),
        "mask_predictor": MaskRCNNPredictor(config.mask_head_channels, config.mask_head_channels, NUM_CATEGORIES + 1),
    }


class MatchRCNN(MaskRCNN):
    """Mask R-CNN + landmarks + matching, built from a :class:`ModelConfig` (module docstring).

    ``backbone_weights``: a local ImageNet state-dict file for the backbone (never downloaded);
    ``pretrained=True`` builds for full-model weights that will be loaded next (frozen batch norm).
    """

    def __init__(self, config: ModelConfig, *, backbone_weights: str | None = None, pretrained: bool = False) -> None:
        backbone = build_backbone(config, backbone_weights=backbone_weights, pretrained=pretrained)
        super().__init__(backbone, num_classes=None, **_detector_kwargs(config))
        c = config.fpn_channels
        lh = LandmarkHead(c, config.landmark_head_channels, config.landmark_head_convs)
        self.roi_heads = MatchRoIHeads(
            self.roi_heads,
            landmark_head=lh,
            landmark_predictor=SlicedHeatmapPredictor(lh.out_channels, upsample=config.heatmap_size == 56),
            match_head=MatchingHead(c, config.match_channels, config.match_hidden, config.embedding_dim),
            pair_head=PairHead(config.embedding_dim),
            match_rois_per_image=config.match_rois_per_image,
            match_iou=config.match_iou,
            semantic_head=(
                SemanticHead(c, config.semantic_head_convs, NUM_CATEGORIES + 1) if config.semantic_head_convs else None
            ),
            semantic_level=(feature_names(config)[0], finest_stride(config)),
        )
        self.config = config

    @property
    def pair_head(self) -> PairHead:
        return self.roi_heads.pair_head

    def match_logits(self, queries: torch.Tensor, gallery: torch.Tensor) -> torch.Tensor:
        """Match logit of every query embedding against every gallery embedding: ``(nq, ng)``."""
        return self.roi_heads.pair_head.pairwise(queries, gallery)


def plain_mask_rcnn(config: ModelConfig) -> MaskRCNN:
    """torchvision's Mask R-CNN with the same backbone, sizes, proposal counts, box and mask heads as
    ``MatchRCNN(config)``: the baseline of ``benchmarks/model.py``."""
    backbone = build_backbone(config)
    return MaskRCNN(backbone, num_classes=None, **_detector_kwargs(config, MultiScaleRoIAlign))
