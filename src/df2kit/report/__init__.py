"""The HTML report of an evaluation: ``df2kit report EVAL_DIR --out report.html``.

>>> from df2kit.report import build_report, Manifest, write_manifest
>>> write_manifest("eval/", Manifest(gt="data/validation", results="pred/results.json"))   # doctest: +SKIP
>>> print(build_report("eval/", "report.html").format())                                   # doctest: +SKIP

``EVAL_DIR`` holds what ``df2kit evaluate --out EVAL_DIR`` writes (``<task>.json``) and an optional
``manifest.json`` saying where the ground truth, the images and the results files are
(:mod:`df2kit.report.manifest`). matplotlib is imported only while plots are made.
"""

from .build import ReportSummary, build_report
from .manifest import MANIFEST_FILE, Manifest, read_manifest, write_manifest

__all__ = ["MANIFEST_FILE", "Manifest", "ReportSummary", "build_report", "read_manifest", "write_manifest"]
