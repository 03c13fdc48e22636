"""Training: the pretraining loop and what it needs.

``config`` (typed run configuration), ``data`` (simulated-instrument batches),
``schedules`` (β annealing, gradient-reversal ramp), ``trainer`` (the loop, with
atomic checkpoints and resumption), ``checkpoint``, ``distributed``, ``diagnostics``
(held-out probes, retrieval, collapse), ``logging`` (``metrics.jsonl``), ``cache``
(finished runs kept for reuse), ``plots``, ``speed`` (``spektron bench model``) and
``allocator`` (freed memory kept for reuse). Import the module you need, e.g.
``from spektron.training.trainer import pretrain``; the package itself imports
nothing, so reading a run's metrics never loads torch. The loss terms live with the
model (:mod:`spektron.models.losses`).
"""
