"""From a question to an answer: retrieval and fusion, the places a question names, follow-ups,
highlights, the answer, and the live collections a server answers from."""

# The rankings, by name: the hybrid (the default) and its two single-signal baselines. Here, not
# in retrieval.py, so that the CLI can offer them without importing numpy and FAISS.
RETRIEVERS = ("default", "dense", "bm25")
