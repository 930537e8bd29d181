"""Records (one image, one item) and box formats."""

from .boxes import BoxMode, box_area, box_iou, convert_boxes, xywh_to_xyxy, xyxy_to_xywh
from .records import ClothingItem, ImageAnnotation, image_id_from_stem

__all__ = [
    "BoxMode",
    "ClothingItem",
    "ImageAnnotation",
    "box_area",
    "box_iou",
    "convert_boxes",
    "image_id_from_stem",
    "xywh_to_xyxy",
    "xyxy_to_xywh",
]
