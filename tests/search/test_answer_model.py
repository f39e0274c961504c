"""The answer model's file and its cheap evidence: what ships loads, a stale file is refused."""

from __future__ import annotations

import json
import logging

import numpy as np
import pytest

from cultureqa.embedding.base import Embedder
from cultureqa.search.answer_model import (
    ANSWER_FEATURES,
    FIELDS_SHORT_SHARE,
    MODEL_FILE,
    WINDOW_FEATURES,
    AnswerModel,
    AnswerModels,
    asks_number,
    default_models,
    shows_number,
)
from cultureqa.search.library import warn_if_uncalibrated


@pytest.mark.parametrize("kind", ["prose", "fields"])
def test_the_shipped_models_load_and_say_what_fit_them(kind: str) -> None:
    model = getattr(default_models(), kind)
    assert model.window.shape == (len(WINDOW_FEATURES),)
    assert model.answer.shape == (len(ANSWER_FEATURES),)
    assert 0.0 < model.threshold < 1.0
    assert "benchmarks.answer_model fit" in model.trained_on
    again = AnswerModel.from_json(model.to_json())
    assert np.array_equal(again.window, model.window)
    assert np.array_equal(again.answer, model.answer)
    assert (again.threshold, again.trained_on) == (model.threshold, model.trained_on)


def test_each_kind_of_article_has_its_model() -> None:
    models = default_models()
    assert models.for_article(0.2) is models.prose  # a course text: a few short lines
    assert models.for_article(FIELDS_SHORT_SHARE + 0.1) is models.fields  # a profile


def test_a_model_file_for_other_features_is_refused() -> None:
    data = json.loads(MODEL_FILE.read_text(encoding="utf-8"))
    del data["fields"]["window"]["similarity"]
    with pytest.raises(ValueError, match="refit"):
        AnswerModels.from_json(json.dumps(data))


def test_confidence_is_a_probability_even_for_extreme_evidence() -> None:
    model = default_models().prose
    for scale in (-1e6, 0.0, 1e6):
        confidence = model.confidence(np.full(len(ANSWER_FEATURES), scale))
        assert 0.0 <= confidence <= 1.0


@pytest.mark.parametrize(
    ("question", "expected"),
    [
        ("At what age do children start school in Greece?", True),
        ("how many people live in Osaka", True),
        ("When is Onam celebrated?", True),
        ("What do people eat for breakfast in Kerala?", False),
        ("Who leads the toasts?", False),
    ],
)
def test_questions_that_ask_for_a_number_or_a_time(question: str, expected: bool) -> None:
    assert asks_number(question) is expected


def test_a_window_shows_a_number_in_digits_words_or_dates() -> None:
    assert shows_number("Children start school at 6.")
    assert shows_number("It is held in mid-July every year.")
    assert shows_number("Families gather twice a week.")
    assert not shows_number("Bargaining is expected in the bazaar.")


def test_the_evidence_repeats_the_window_features_in_the_answer_models_order() -> None:
    from cultureqa.search.evidence import EVIDENCE_COLUMNS

    repeated = [WINDOW_FEATURES[column] for column in EVIDENCE_COLUMNS]
    assert repeated == list(ANSWER_FEATURES[3:-3])
    assert ANSWER_FEATURES[:3] == ("probability", "margin", "score")
    assert ANSWER_FEATURES[-3:] == ("passage_similarity", "broad", "bias")


def test_the_shipped_answer_model_was_fit_on_the_default_model(real_embedder: Embedder) -> None:
    assert default_models().embedding_model == real_embedder.name
    warn_if_uncalibrated.cache_clear()
    assert not warn_if_uncalibrated(real_embedder.name)


def test_another_model_is_warned_about_once(caplog: pytest.LogCaptureFixture) -> None:
    warn_if_uncalibrated.cache_clear()
    with caplog.at_level(logging.WARNING, logger="cultureqa"):
        assert warn_if_uncalibrated("all-mpnet-base-v2")
        warn_if_uncalibrated("all-mpnet-base-v2")
    [record] = [r for r in caplog.records if "not calibrated" in r.getMessage()]
    assert "all-mpnet-base-v2" in record.getMessage()
    assert default_models().embedding_model in record.getMessage()
