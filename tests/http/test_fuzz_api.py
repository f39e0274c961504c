"""schemathesis against the app's own OpenAPI schema, in process (ASGI) with a real index on
disk: no 5xx, and every response (status, headers, body) matches the schema. Run with and
without an admin key, so the admin endpoints are fuzzed past their key check as well, and
uploads with file names of every supported article type.

The FakeEmbedder keeps this fast; the real model answers /ask in test_api.py and test_e2e.py.
"""

from __future__ import annotations

import atexit
import shutil
import tempfile
from pathlib import Path
from typing import Any

import pytest
import schemathesis
from hypothesis import HealthCheck, settings

from cultureqa.corpus.loader import EXTENSIONS
from cultureqa.http.app import create_app
from cultureqa.index.store import current_version
from tests.conftest import AppClient
from tests.helpers import FakeEmbedder, publish, settings_for

ADMIN_KEY = "f" * 32
MAX_EXAMPLES = 25


# Built at import, because the tests are generated from the schema at collection time; the
# index is published by a fixture just before the first call starts the app's lifespan
# (schemathesis then keeps that lifespan running until the process exits).
_DIR = Path(tempfile.mkdtemp(prefix="cultureqa-fuzz-"))
atexit.register(shutil.rmtree, _DIR, ignore_errors=True)
CONFIG = settings_for(
    _DIR,
    collections_dir=_DIR / "collections",
    admin_keys=[ADMIN_KEY],
    rate_limit_per_minute=0,  # the fuzzer is one very busy client
    max_history_turns=5,
)
APP = create_app(CONFIG, embedder=FakeEmbedder())
schema = schemathesis.openapi.from_dict(APP.openapi())
schema.app = APP


@pytest.fixture(scope="module", autouse=True)
def published_index() -> None:
    if current_version(CONFIG.index_dir / "default") is None:
        publish(CONFIG, FakeEmbedder(), "one")


# Not checked: that every schema-valid request is accepted. The schema cannot say that a
# question must not be blank, that top_k is at most the server's max_top_k, or that an
# uploaded file must parse as an article; those are refused with a declared 4xx in our shape.
EXCLUDED = [schemathesis.checks.positive_data_acceptance]

FUZZ = settings(
    max_examples=MAX_EXAMPLES,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much],
)


@schema.parametrize()
@FUZZ
def test_api_without_keys(case: schemathesis.Case[Any]) -> None:
    case.call_and_validate(excluded_checks=EXCLUDED)


@schema.include(path_regex="^/admin/").parametrize()
@FUZZ
def test_admin_api_with_a_valid_key(case: schemathesis.Case[Any]) -> None:
    case.call_and_validate(
        headers={"Authorization": f"Bearer {ADMIN_KEY}"}, excluded_checks=EXCLUDED
    )


UPLOADED_TYPES: set[str] = set()


# Uploads, with a file name of every supported type (the schema's pattern and examples) and a
# body as text or bytes: every parser meets what the fuzzer makes up, through the admin API.
@schema.include(method="PUT", path_regex="/articles/").parametrize()
@settings(
    max_examples=4 * MAX_EXAMPLES,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much],
)
def test_uploads_of_every_article_type(case: schemathesis.Case[Any]) -> None:
    UPLOADED_TYPES.add(Path(str(case.path_parameters["file_name"])).suffix)
    case.call_and_validate(
        headers={"Authorization": f"Bearer {ADMIN_KEY}"}, excluded_checks=EXCLUDED
    )


def test_every_article_type_was_uploaded() -> None:
    # Runs after the test above (same module, file order).
    assert set(EXTENSIONS) <= UPLOADED_TYPES


def test_the_schema_declares_every_error_the_limits_answer_with(
    tmp_path: Path, app_client: AppClient
) -> None:
    config = settings_for(tmp_path)
    publish(config, FakeEmbedder(), "one")
    client = app_client(config)
    document = client.get("/openapi.json").json()
    declared = set(document["paths"]["/ask"]["post"]["responses"])
    assert {"200", "400", "401", "403", "404", "413", "422", "429", "503", "504"} <= declared
