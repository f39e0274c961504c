"""cultureqa: question answering over culture articles, with citations."""

__version__ = "0.1.0"
