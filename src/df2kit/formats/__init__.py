"""Foreign formats, official-compatible by default, ``to_*``/``from_*``:

* :mod:`df2kit.formats.coco`: ``to_coco`` (streamed COCO JSON, official rules + extras) and ``from_coco``;
* :mod:`df2kit.formats.yolo`: ``to_yolo`` (Ultralytics detect / segment / pose datasets);
* :mod:`df2kit.formats.retrieval`: the consumer-to-shop retrieval ground truth;
* :mod:`df2kit.formats.pairs`: positive commercial-consumer pairs and a batch sampler of image couples.
"""
