"""Acceptance: every seed-dev question gets a gold passage of the seed article first."""

from __future__ import annotations

import pytest

from cultureqa.embedding.base import Embedder
from cultureqa.evaluation.questions import first_hit_rank, load_questions
from cultureqa.index.collections import open_index
from cultureqa.search.library import make_answerer
from cultureqa.settings import Settings
from tests.helpers import SEED_DEV, require_shared

pytestmark = pytest.mark.slow


def test_seed_dev_all_first(seed_settings: Settings, real_embedder: Embedder) -> None:
    answerer = make_answerer(seed_settings, real_embedder, open_index(seed_settings, real_embedder))
    questions = load_questions(require_shared(SEED_DEV))
    assert len(questions) == 7
    ranks = {}
    for question in questions:
        result = answerer.ask(question.question, 10)
        ranked = [(p.citation.article_id, p.text) for p in result.passages]
        ranks[question.id] = first_hit_rank(question, ranked)
    assert ranks == {q.id: 1 for q in questions}
