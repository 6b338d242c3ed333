"""The index: building it from the corpus (``build``), a build folder on disk (``folder``), what its contents
depend on (``versions``), resumable embedding (``resume``), adding and removing documents (``ingest``), and a
session's private uploads (``uploads``)."""
