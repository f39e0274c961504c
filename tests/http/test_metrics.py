"""GET /metrics in the Prometheus text format: requests by route and status, latency,
answered asks and no-answers, and the index version and size of each collection."""

from __future__ import annotations

from pathlib import Path
from types import SimpleNamespace

from prometheus_client.parser import text_string_to_metric_families

from cultureqa.http.metrics import ServiceMetrics
from tests.conftest import AppClient
from tests.helpers import FakeEmbedder, publish, settings_for


def samples(text: str) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    return {
        (s.name, tuple(sorted(s.labels.items()))): s.value
        for family in text_string_to_metric_families(text)
        for s in family.samples
    }


def test_metrics_count_requests_latency_and_the_index(
    tmp_path: Path, app_client: AppClient
) -> None:
    settings = settings_for(tmp_path)
    version = publish(settings, FakeEmbedder(), "one")
    client = app_client(settings)
    for _ in range(3):
        assert client.post("/ask", json={"question": "food"}).status_code == 200
    assert client.post("/ask", json={"question": ""}).status_code == 422
    assert client.get("/admin/jobs/job-1").status_code == 401
    response = client.get("/metrics")
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/plain")
    got = samples(response.text)
    ask_ok = (
        "cultureqa_http_requests_total",
        (("method", "POST"), ("route", "/ask"), ("status", "200")),
    )
    assert got[ask_ok] == 3
    ask_bad = (
        "cultureqa_http_requests_total",
        (("method", "POST"), ("route", "/ask"), ("status", "422")),
    )
    assert got[ask_bad] == 1
    job = (
        "cultureqa_http_requests_total",
        (("method", "GET"), ("route", "/admin/jobs/{job_id}"), ("status", "401")),
    )
    assert got[job] == 1  # the route template, not the path: labels stay few
    assert got[("cultureqa_http_request_duration_seconds_count", (("route", "/ask"),))] == 4
    assert got[("cultureqa_asks_total", (("collection", "default"),))] == 3
    assert got[("cultureqa_index_passages", (("collection", "default"),))] == 6
    assert got[("cultureqa_index_info", (("collection", "default"), ("version", version)))] == 1
    assert got[("cultureqa_asks_pending", ())] == 0


def test_no_answer_counts_a_null_answer_only_when_the_field_exists() -> None:
    metrics = ServiceMetrics()
    metrics.record_ask(SimpleNamespace(answer=None), "default")
    metrics.record_ask(SimpleNamespace(answer="Naengmyeon"), "default")
    metrics.record_ask(SimpleNamespace(), "default")  # no `answer` field (yet): not a no-answer
    got = samples(metrics.render().decode())
    assert got[("cultureqa_asks_total", (("collection", "default"),))] == 3
    assert got[("cultureqa_no_answers_total", (("collection", "default"),))] == 1


def test_metrics_can_be_turned_off(tmp_path: Path, app_client: AppClient) -> None:
    settings = settings_for(tmp_path, metrics_enabled=False)
    publish(settings, FakeEmbedder(), "one")
    client = app_client(settings)
    assert client.get("/metrics").status_code == 404


def test_micro_batching_counts_its_passes_and_is_absent_when_off(
    tmp_path: Path, app_client: AppClient
) -> None:
    settings = settings_for(tmp_path, micro_batching=True)
    publish(settings, FakeEmbedder(), "one")
    client = app_client(settings)
    for question in ("food", "music"):  # one after another: a pass each
        assert client.post("/ask", json={"question": question}).status_code == 200
    got = samples(client.get("/metrics").text)
    assert got[("cultureqa_embed_passes_total", ())] == 2
    assert got[("cultureqa_embed_calls_total", ())] == 2
    assert got[("cultureqa_embed_texts_total", ())] == 2

    off = app_client(settings_for(tmp_path / "off"))
    assert "cultureqa_embed_passes" not in off.get("/metrics").text
