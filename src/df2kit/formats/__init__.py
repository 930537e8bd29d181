"""Foreign formats: COCO, YOLO, retrieval ground truth. ``to_*``/``from_*``, official-compatible by default."""
