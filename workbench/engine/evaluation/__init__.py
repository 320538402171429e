"""Evaluation: how good a run's weights are on a split of its data.

``metrics`` (numpy) computes the figures, ``result`` (numpy) holds a split's per-sample
results and writes them out, and ``run`` (torch) rebuilds a run's model and streams a
split through it; its ``TestEvaluation`` callback evaluates every run on the test split
when it ends. ``report`` (with ``report_curves``) writes the HTML report folder of an
evaluation. Importing this package imports neither torch nor Qt.
"""
