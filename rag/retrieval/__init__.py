"""Retrieval: what a request may be (``request``), ranking the index's passages (``ranking``) and rank fusion
(``fusion``)."""
