"""The corpus: documents on disk and their metadata (``documents``), one reader per file format (``readers``),
and a cheap watch for changes (``freshness``)."""
