"""Answering: which quoted sentences answer (``extraction``), whether the corpus is about the question at all
(``abstention``), and the reference of a quote (``citation``)."""
