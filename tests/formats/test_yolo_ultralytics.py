"""The YOLO output read by Ultralytics itself: its dataset checker and label loader (which verifies every label
file) must accept all three tasks and find every item where the native files put it.

Ultralytics is not a dependency of df2kit (it pulls in OpenCV and more), so this test runs only where it is
installed: ``pip install ultralytics && pytest tests/formats/test_yolo_ultralytics.py``.
"""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import pytest

from df2kit.formats.yolo import to_yolo
from df2kit.io import scan_split
from df2kit.synth import synthesize


@pytest.fixture(scope="module")
def ultralytics(tmp_path_factory: pytest.TempPathFactory):
    os.environ.setdefault("YOLO_CONFIG_DIR", str(tmp_path_factory.mktemp("ultralytics-settings")))
    return pytest.importorskip("ultralytics", reason="Ultralytics is not installed (pip install ultralytics)")


@pytest.mark.parametrize("task", ["detect", "segment", "pose"])
def test_ultralytics_loads_every_item_as_written(ultralytics, tmp_path: Path, task: str) -> None:
    from ultralytics.data.dataset import YOLODataset
    from ultralytics.data.utils import check_det_dataset

    synthesize(tmp_path / "df2", train=6, validation=10, seed=3, size=160, workers=1)
    for split in ("train", "validation"):
        to_yolo(tmp_path / "df2", tmp_path / "yolo", split=split, task=task, workers=1)
    data = check_det_dataset(str(tmp_path / "yolo" / "dataset.yaml"))
    assert len(data["names"]) == 13
    ds = YOLODataset(img_path=data["val"], data=data, task=task, augment=False, imgsz=160)
    table = scan_split(tmp_path / "df2", "validation")
    assert len(ds.labels) == len(table)  # a corrupt label file drops its image
    by_stem = {Path(lb["im_file"]).stem: lb for lb in ds.labels}
    for i in range(len(table)):
        lb = by_stem[str(table.stems[i])]
        h, w = lb["shape"]
        items = range(int(table.item_start[i]), int(table.item_start[i + 1]))
        assert len(lb["cls"]) == len(items)
        for j in items:
            x1, y1, x2, y2 = (float(v) for v in table.bbox_xyxy[j])
            want = np.array([(x1 + x2) / 2 / w, (y1 + y2) / 2 / h, (x2 - x1) / w, (y2 - y1) / h])
            err = np.abs(lb["bboxes"] - want).max(axis=1)
            err[lb["cls"][:, 0] != int(table.category_id[j]) - 1] = np.inf
            k = int(np.argmin(err))
            # the same class and box: 6 written digits; segment lines carry no box, Ultralytics takes the
            # polygon's extent, which is within a pixel or two of the annotated box in these files
            assert err[k] < (2.0 / min(w, h) if task == "segment" else 1e-5)
            if task == "pose":
                lm = np.asarray(table.item_landmarks(j), dtype=np.float64)
                kp = lb["keypoints"][k]
                assert kp.shape == (294, 3)
                assert (kp[:, 2] > 0).sum() == (lm[:, 2] > 0).sum()
                got = kp[kp[:, 2] > 0, :2] * [w, h]
                np.testing.assert_allclose(got, lm[lm[:, 2] > 0, :2], atol=1e-3)
            if task == "segment":
                assert len(lb["segments"][k]) >= 3
