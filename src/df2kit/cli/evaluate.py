"""df2kit evaluate: score detection, landmarks, segmentation or retrieval results.

The shared arguments live here; each task family adds its own options and does the work in its module:
``_eval_coco`` (detection, landmarks, segmentation) and ``_eval_retrieval`` (retrieval).
"""

from __future__ import annotations

import argparse

from . import _eval_coco, _eval_retrieval

NAME = "evaluate"
HELP = "score results of the four tasks exactly as the official rules do"
DESCRIPTION = """\
Score a results file against DeepFashion2 ground truth with the official rules.

GT is a native split folder (ROOT/validation) or an official-style ground-truth file.
RESULTS is the official results JSON of the task (see the README's "Result files")."""
EXAMPLES = """\
df2kit evaluate --task detection ROOT/validation results.json
df2kit evaluate --task landmarks ROOT/validation results.json --subsets
df2kit evaluate --task segmentation val_coco.json results.json --json
df2kit evaluate --task retrieval ROOT/validation retrieval_results.json
"""

TASKS = ("detection", "landmarks", "segmentation", "retrieval")


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("gt", metavar="GT", help="ground truth: a native split folder or a ground-truth file")
    p.add_argument("results", metavar="RESULTS", help="results JSON file of the task")
    p.add_argument("--task", required=True, choices=TASKS, help="which task to score")
    p.add_argument("--json", action="store_true", help="print JSON instead of tables")
    p.add_argument("--subsets", action="store_true", help="also score per scale / occlusion / zoom_in / viewpoint subset")
    p.add_argument("--out", metavar="DIR", help="write the full results (JSON) into this folder")
    _eval_coco.add_arguments(p.add_argument_group("detection, landmarks, segmentation"))
    _eval_retrieval.add_arguments(p.add_argument_group("retrieval"))


def run(args: argparse.Namespace) -> int:
    if args.task == "retrieval":
        return _eval_retrieval.run(args)
    return _eval_coco.run(args)
