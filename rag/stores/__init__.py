"""Where chunk vectors and keyword search live: FAISS and bm25s files in a build folder, or Milvus
(``registry`` chooses from the ``store`` setting)."""
