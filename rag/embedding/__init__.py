"""Embedding: choosing an embedder (``loading``), the bundled multilingual-e5-small and its conversion
(``bundled``, ``e5_*``), the torch runtime (``torch_runtime``), and the query-vector path (``query_path``)."""
