"""Scoring retrieval and answers on question sets (JSONL, SQuAD, BEIR)."""
