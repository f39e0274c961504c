"""What is built at ingest and read while serving: the versioned index directory, FAISS, BM25,
the ingest itself, collections and their article files, re-index jobs."""
