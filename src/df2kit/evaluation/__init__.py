"""Scoring of the four DeepFashion2 tasks with the official rules (retrieval: :mod:`df2kit.evaluation.retrieval`)."""
