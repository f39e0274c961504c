"""The JSON shapes of the public API, shared by the HTTP service and `cultureqa ask --json`."""

from __future__ import annotations

import unicodedata
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, JsonValue, field_validator

from cultureqa.search.answer import AskResult
from cultureqa.search.followup import Turn
from cultureqa.search.library import CollectionStatus

EXAMPLE_QUESTION = "What cold noodle dish is Hamhung known for?"
CITATION_EXAMPLE: dict[str, JsonValue] = {
    "article_id": "hamhung-culture",
    "title": "Exploring the Unique Culture of Hamhung, North Korea: A Glimpse into a Hidden World",
    "heading_path": "The Industrial Heartbeat of Hamhung > The Contrast of Modernity and Tradition",
    "anchor": "the-contrast-of-modernity-and-tradition",
    "link": "corpus/hamhung-culture.md#the-contrast-of-modernity-and-tradition",
    "source_url": None,
    "source_file": "corpus/hamhung-culture.md",
    "start_line": 26,
    "end_line": 28,
    "page": "/articles/hamhung-culture#the-contrast-of-modernity-and-tradition",
}


MAX_ARTICLE_ID_CHARS = 200

# Characters that show nothing: controls (NUL), format characters (zero-width space and joiner,
# the byte order mark), separators. A question made only of these asks nothing.
_INVISIBLE_CATEGORIES = {"Cc", "Cf", "Zs", "Zl", "Zp"}


def has_visible_text(text: str) -> bool:
    return any(unicodedata.category(char) not in _INVISIBLE_CATEGORIES for char in text)


class HistoryTurn(BaseModel):
    model_config = ConfigDict(strict=True, extra="forbid")

    # Lengths are checked by limits.check_history (422 with the limit in words), not by the
    # schema: JSON Schema and Python count characters of unpaired surrogates differently.
    question: str = Field(description="An earlier question (as long as a question may be).")
    article_id: str | None = Field(
        default=None,
        description="The article the answer shown for it was cited from, if any (at most "
        f"{MAX_ARTICLE_ID_CHARS} characters).",
    )


class AskRequest(BaseModel):
    # Strict: "5" is not a number and 5 is not a question; say so rather than guess.
    model_config = ConfigDict(
        strict=True,
        extra="forbid",
        json_schema_extra={"examples": [{"question": EXAMPLE_QUESTION, "top_k": 3}]},
    )

    question: str = Field(
        min_length=1, description="The question, in plain text.", examples=[EXAMPLE_QUESTION]
    )
    top_k: int | None = Field(
        default=None,
        ge=1,
        description="How many passages to return, best first (default 5; the server's maximum "
        "is in its settings, 50 unless changed).",
    )
    collection: str | None = Field(
        default=None,
        description="Which collection to ask (default: the server's default collection). An "
        "unknown name gets a 404 listing the known ones.",
    )
    history: list[HistoryTurn] | None = Field(
        default=None,
        description="Earlier turns of the conversation, oldest first (the widget sends the "
        "last few; the server's limit, 10 unless changed, is in its settings). A question that "
        "names no place then leans on the place of the newest turn that has one, e.g. 'And "
        "what do people eat there?' after a question on Hamhung.",
    )
    conversation_id: str | None = Field(
        default=None,
        max_length=200,
        description="The conversation this question continues: the `conversation_id` of an "
        "earlier response. Without `history`, follow-ups lean on the questions stored for it. "
        "Missing, or not one the server made, a new conversation starts.",
    )

    @field_validator("question")
    @classmethod
    def _question_shows_something(cls, question: str) -> str:
        # Blank questions get the answerer's own 422; this catches what strip() leaves.
        if question.strip() and not has_visible_text(question):
            raise ValueError(
                "question is only control or zero-width characters; ask something, e.g. "
                f"{EXAMPLE_QUESTION!r}"
            )
        return question

    def turns(self) -> list[Turn]:
        return [Turn(t.question, t.article_id) for t in self.history or []]


class CitationOut(BaseModel):
    article_id: str = Field(description="Stable id of the article.")
    title: str = Field(description="The article's title.")
    heading_path: str = Field(
        description="Headings from the article's top to the section, joined by ' > ' "
        "(empty for the lead, before the first heading)."
    )
    anchor: str = Field(description="The section's link fragment, without '#'.")
    link: str | None = Field(
        description="Where to read the section: the source URL, or the corpus file, plus '#anchor'."
    )
    source_url: str | None = Field(description="The article's URL, when the corpus gives one.")
    source_file: str | None = Field(
        description="The file the article was read from: the source directory's name and the "
        "path below it (corpus/hamhung-culture.md), never a path on the server."
    )
    start_line: int = Field(description="First line of the passage in the source file (1-based).")
    end_line: int = Field(description="Last line of the passage in the source file.")
    page: str = Field(
        description="The section on this server's article page, relative to the API's base "
        "URL: '/articles/<article_id>#<anchor>'. Always a web page, unlike `link`. In key mode "
        "it carries a reading grant ('grant=') that opens this article for 2 hours without a key."
    )


class HighlightOut(BaseModel):
    start: int = Field(description="Offset of the sentence's first character in the passage text.")
    end: int = Field(description="Offset just past its last character (text[start:end]).")


class PassageOut(BaseModel):
    rank: int = Field(description="1 for the best passage.")
    id: str = Field(description="Stable passage id: article id, '#', section anchor.")
    score: float = Field(
        description="Ranking score, higher is better: cosine similarity plus weighted BM25 and "
        "article-name evidence (docs/retrieval.md)."
    )
    text: str = Field(description="The passage, exactly as in the source.")
    citation: CitationOut
    similarity: float = Field(
        description="Cosine similarity between question and passage (-1 to 1)."
    )
    highlights: list[HighlightOut] = Field(
        description="Character spans of the sentence(s) that best match the question."
    )
    weak: bool = Field(description="True when the passage is only loosely related to the question.")


class AnswerOut(BaseModel):
    text: str = Field(description="The best-matching sentence, exactly as in its passage.")
    passage_id: str = Field(description="The passage it comes from.")
    rank: int = Field(description="That passage's rank in `passages`.")
    start: int = Field(description="Offset of the sentence in the passage text.")
    end: int = Field(description="Offset just past its end.")
    citation: CitationOut


class AskResponse(BaseModel):
    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "question": EXAMPLE_QUESTION,
                    "collection": "default",
                    "passages": [
                        {
                            "rank": 1,
                            "id": "hamhung-culture#the-contrast-of-modernity-and-tradition",
                            "score": 0.6123,
                            "text": "While Hamhung’s factories hum with activity, ...",
                            "citation": CITATION_EXAMPLE,
                            "similarity": 0.6123,
                            "highlights": [{"start": 190, "end": 386}],
                            "weak": False,
                        }
                    ],
                    "answer": {
                        "text": "Dishes like Hamhung naengmyeon (a cold buckwheat noodle dish) "
                        "are regional specialties, ...",
                        "passage_id": "hamhung-culture#the-contrast-of-modernity-and-tradition",
                        "rank": 1,
                        "start": 190,
                        "end": 386,
                        "citation": CITATION_EXAMPLE,
                    },
                    "confidence": 0.81,
                    "no_answer_reason": None,
                    "no_answer_code": None,
                    "index_version": "20261129T080000-1a2b3c4d",
                    "model": "all-MiniLM-L6-v2",
                    "took_ms": 14.2,
                    "conversation_id": "1xJb0m0cQ2mWk9dO3yq1Zw",
                    "ask_id": "Qm8l0ZcT9iN2rVb4pXe7Aa",
                }
            ]
        }
    )

    question: str = Field(description="The question as answered (white space trimmed).")
    collection: str = Field(description="The collection that answered.")
    passages: list[PassageOut] = Field(description="The most relevant passages, best first.")
    index_version: str = Field(description="Version of the index that answered.")
    model: str = Field(description="Embedding model the index was built with.")
    took_ms: float = Field(description="Time spent answering, in milliseconds.")
    answer: AnswerOut | None = Field(
        description="The sentence that best answers, with its citation; null when nothing in "
        "the index answers the question (see no_answer_reason)."
    )
    confidence: float = Field(description="How sure the answer is, 0 to 1.")
    no_answer_reason: str | None = Field(
        description="Why there is no answer, in words, when `answer` is null; else null."
    )
    no_answer_code: str | None = Field(
        default=None,
        description="Why there is no answer, for programs: 'place_not_covered' (the question "
        "names a place no article covers; the reason names it and the covered places), "
        "'not_close_enough' (no sentence is near enough the question), 'no_passages' or "
        "'no_sentence'; null when there is an answer. The passages are still listed, as "
        "related reading.",
    )
    conversation_id: str | None = Field(
        default=None,
        description="The conversation this ask belongs to: send it back with the next "
        "question to continue it (and to erase it: DELETE /conversations/{id}).",
    )
    ask_id: str | None = Field(
        default=None,
        description="This ask's id in the question log: send it with POST /feedback.",
    )

    @classmethod
    def from_result(
        cls,
        result: AskResult,
        collection: str,
        *,
        conversation_id: str | None = None,
        ask_id: str | None = None,
    ) -> AskResponse:
        fields = {
            **result.__dict__,
            "collection": collection,
            "conversation_id": conversation_id,
            "ask_id": ask_id,
        }
        return cls.model_validate(fields, from_attributes=True)


class ErrorBody(BaseModel):
    code: str = Field(description="Machine-readable error kind, e.g. 'invalid_request'.")
    message: str = Field(description="What went wrong, in words.")
    hint: str | None = Field(default=None, description="What to do about it, when known.")
    details: list[dict[str, object]] | None = Field(
        default=None, description="Per-field problems, for invalid requests."
    )


class ErrorResponse(BaseModel):
    error: ErrorBody


class HealthResponse(BaseModel):
    status: str


class CollectionOut(BaseModel):
    name: str
    version: str | None = Field(description="The index version being served.")
    passages: int | None
    problem: str | None = Field(
        description="Why the newest published version is not being served, if it is not."
    )

    @classmethod
    def from_status(cls, status: CollectionStatus) -> CollectionOut:
        return cls.model_validate(status, from_attributes=True)


class ReadyResponse(BaseModel):
    status: str = Field(
        description="'ready' when a collection can answer (the default one's version, model "
        "and passages are then given, or `reason` says why it cannot)."
    )
    index_version: str | None = None
    model: str | None = None
    passages: int | None = None
    reason: str | None = None
    collections: list[CollectionOut] = Field(default_factory=list)


class StoredArticle(BaseModel):
    collection: str
    file: str
    bytes: int
    articles: int


class ArticleFiles(BaseModel):
    collection: str
    files: list[str] = Field(description="The files in the collection's own folder (uploads).")
    other_sources: list[str] = Field(
        default_factory=list,
        description="The other sources its index is built from, by directory or file name "
        "(added with `cultureqa ingest DIR --collection NAME`): read again by every re-index, "
        "managed from the command line.",
    )


class JobOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: str
    collection: str
    state: str = Field(description="queued, running, succeeded or failed.")
    embedded: int = Field(description="Passages embedded so far.")
    to_embed: int | None = Field(description="Passages to embed (new or changed), once known.")
    summary: str | None
    warnings: list[str] = Field(
        default_factory=list,
        description="About articles indexed all the same, e.g. a source_url that is not "
        "http(s), dropped; each 'file (article id): what'.",
    )
    error: str | None
    version: str | None = Field(description="The version published, once succeeded.")
    created_at: float
    finished_at: float | None
    attempts: int | None = Field(
        default=None,
        description="With CULTUREQA_BUILDER=external: how many times a worker claimed the job "
        "(more than 1 after a worker died holding it); null for a job run in the server.",
    )
    worker: str | None = Field(
        default=None,
        description="With CULTUREQA_BUILDER=external: the worker holding, or last holding, it.",
    )


class FeedbackRequest(BaseModel):
    model_config = ConfigDict(strict=True, extra="forbid")

    rating: Literal["up", "down"] = Field(description="Was the answer useful?")
    question: str = Field(min_length=1, max_length=2000, description="The question answered.")
    passage_id: str | None = Field(
        default=None, max_length=300, description="Id of the passage shown as the answer."
    )
    article_id: str | None = Field(default=None, max_length=200)
    index_version: str | None = Field(default=None, max_length=100)
    collection: str | None = Field(default=None, max_length=200)
    ask_id: str | None = Field(
        default=None,
        max_length=200,
        description="The `ask_id` of the /ask response rated: the verdict is linked to it.",
    )
    conversation_id: str | None = Field(
        default=None, max_length=200, description="The conversation of the ask rated."
    )
    comment: str | None = Field(
        default=None, max_length=2000, description="What the reader says about the answer."
    )


class FeedbackResponse(BaseModel):
    status: Literal["recorded"]


def error_responses(descriptions: dict[int, str]) -> dict[int | str, dict[str, object]]:
    """OpenAPI `responses` for error statuses (status: description), each the one error shape."""
    return {
        status: {"model": ErrorResponse, "description": text}
        for status, text in descriptions.items()
    }


# What checking the key (key mode), the body's size and the client's rate adds to a route.
ACCESS_ERRORS = error_responses(
    {
        400: "The body is not JSON.",
        401: "Key mode: no API key was sent.",
        403: "Key mode: the API key is wrong.",
        413: "The body is over the size limit.",
        429: "Over the client's rate (/ask and /feedback share it); see Retry-After.",
    }
)
