"""The `cultureqa` command: ingest articles, ask questions, serve the API."""

from __future__ import annotations

import json
import logging
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Any

import click
from pydantic import ValidationError

from cultureqa.corpus import FORMATS
from cultureqa.errors import CultureQAError
from cultureqa.runtime import configure_logging
from cultureqa.search import RETRIEVERS
from cultureqa.settings import Settings

if TYPE_CHECKING:
    from cultureqa.evaluation.beir import BeirResult
    from cultureqa.evaluation.questions import AnswerScores, Scores
    from cultureqa.index.ingest import IngestReport

log = logging.getLogger("cultureqa")


def _settings(**overrides: Any) -> Settings:
    """Settings from the environment, with the options the user gave on top."""
    try:
        return Settings(**{k: v for k, v in overrides.items() if v is not None})
    except ValidationError as exc:
        raise click.UsageError(f"invalid setting: {exc}") from exc


def _fail(exc: CultureQAError) -> None:
    click.echo(f"Error: {exc.message}", err=True)
    if exc.hint:
        click.echo(f"Hint: {exc.hint}", err=True)
    sys.exit(1)


index_dir_option = click.option(
    "--index-dir",
    type=click.Path(path_type=Path, file_okay=False),
    default=None,
    help="Index directory [default: $CULTUREQA_INDEX_DIR or embeddings/].",
)
collection_option = click.option(
    "--collection",
    default=None,
    help="Collection to use [default: $CULTUREQA_DEFAULT_COLLECTION or 'default'].",
)
model_option = click.option(
    "--model",
    default=None,
    help="Sentence-transformers model name or directory [default: $CULTUREQA_MODEL or "
    "all-MiniLM-L6-v2].",
)


@click.group()
@click.version_option(package_name="cultureqa")
def cli() -> None:
    """Question answering over culture articles, with citations.

    Configuration comes from CULTUREQA_* environment variables (see the README); options
    given here win over them.
    """
    configure_logging()


@cli.command()
@click.argument("sources", nargs=-1, type=click.Path(path_type=Path))
@index_dir_option
@collection_option
@model_option
@click.option(
    "--format",
    "fmt",
    type=click.Choice(FORMATS),
    default=None,
    help="Article format; 'auto' goes by file extension (.md, .txt) [default: the format the "
    "collection's sources were read with, when they are read again; else auto].",
)
@click.option(
    "--strict", is_flag=True, help="Fail on the first unreadable file instead of skipping it."
)
@click.option(
    "--add",
    is_flag=True,
    help="Add SOURCES to those the collection is built from, instead of replacing them.",
)
@click.option(
    "--report",
    "report_path",
    type=click.Path(path_type=Path, dir_okay=False),
    default=None,
    help="Write the whole report as JSON to this file: each article's id, title and where the "
    "title came from, sections and warnings; every file skipped, with why.",
)
def ingest(
    sources: tuple[Path, ...],
    index_dir: Path | None,
    collection: str | None,
    model: str | None,
    fmt: str | None,
    strict: bool,
    add: bool,
    report_path: Path | None,
) -> None:
    """Build a collection's index from SOURCES, files or directories.

    Without SOURCES, a collection is rebuilt from what it is built from: its own articles
    (corpus/ for the default collection, collections/NAME/ for the others) and the sources
    recorded by earlier ingests. SOURCES replace the recorded sources (said on stderr), or are
    added to them with --add; a collection's own folder, where admin uploads land, is always
    read (the default collection's corpus/ is replaced); sources read again are read with the
    --format they were ingested with. Only new or changed passages are embedded; the others
    reuse their vectors. Prints a progress bar while embedding and a one-line
    summary at the end. The new version is published atomically: a server reading the old one
    never sees half of the new one, and picks the new one up without a restart.
    """
    from cultureqa.embedding.factory import load_embedder
    from cultureqa.index.collections import format_for_ingest, index_dir_of, sources_for_ingest
    from cultureqa.index.ingest import ingest as run_ingest
    from cultureqa.runtime import apply_threads, ingest_plan

    # Not default_collection=collection: the default collection's own articles are corpus/,
    # every other one's are collections/NAME/ (sources_of).
    settings = _settings(index_dir=index_dir, model=model)
    name = collection or settings.default_collection
    try:
        chosen, dropped = sources_for_ingest(settings, name, list(sources), add=add)
        fmt = format_for_ingest(settings, name, fmt, replacing=bool(sources) and not add)
        if dropped:
            click.echo(
                f"Replacing the sources of collection {name!r}: "
                f"{', '.join(map(str, dropped))} no longer read (--add keeps them)",
                err=True,
            )
        plan = ingest_plan(settings)
        apply_threads(plan)
        embedder = load_embedder(settings, threads=plan.torch_threads)
        report = run_ingest(
            chosen,
            index_dir_of(settings, name),
            embedder,
            fmt=fmt,
            strict=strict,
            batch_size=settings.batch_size,
            progress=True,
        )
    except CultureQAError as exc:
        _fail(exc)
        return
    _print_report(report, report_path)


def _print_report(report: IngestReport, report_path: Path | None) -> None:
    """Skipped files and warnings on stderr, the summary line, and the JSON report if asked."""
    for skipped in report.skipped:
        click.echo(f"Skipped {skipped.path}: {skipped.reason}", err=True)
    for warning in report.warnings:
        click.echo(f"Warning: {warning}", err=True)
    click.echo(report.summary())
    if report_path is not None:
        report_path.write_text(json.dumps(report.as_dict(), indent=2) + "\n", encoding="utf-8")
        click.echo(f"Report: {report_path}")


@cli.command()
@click.argument("question")
@click.option(
    "--top-k", type=click.IntRange(min=1), default=None, help="Passages to show [default: 5]."
)
@index_dir_option
@collection_option
@model_option
@click.option(
    "--json", "as_json", is_flag=True, help="Print exactly the JSON object POST /ask returns."
)
def ask(
    question: str,
    top_k: int | None,
    index_dir: Path | None,
    collection: str | None,
    model: str | None,
    as_json: bool,
) -> None:
    """Answer QUESTION from a collection's index, without a server, citing each passage."""
    from cultureqa.embedding.factory import load_embedder
    from cultureqa.http.schemas import AskResponse
    from cultureqa.index.collections import index_dir_of
    from cultureqa.index.store import read_manifest
    from cultureqa.search.library import Library

    settings = _settings(index_dir=index_dir, model=model, default_collection=collection)
    try:
        # Say "no index" before spending seconds loading the model.
        read_manifest(index_dir_of(settings, settings.default_collection))
        library = Library(settings, load_embedder(settings))
        library.refresh()
        result = library.answerer().ask(question, top_k or settings.default_top_k)
    except CultureQAError as exc:
        _fail(exc)
        return
    if as_json:
        response = AskResponse.from_result(result, settings.default_collection)
        click.echo(response.model_dump_json(indent=2))
        return
    if result.answer is not None:
        click.echo(click.style("Answer: ", bold=True) + result.answer.text)
        click.echo(f"    [{result.answer.rank}] (confidence {result.confidence:.2f})")
    else:
        click.echo(click.style("No answer: ", bold=True) + (result.no_answer_reason or ""))
    click.echo()
    if not result.passages:
        click.echo("No passages found.")
    for passage in result.passages:
        where = passage.citation.heading_path or "(introduction)"
        weak = ", weak" if passage.weak else ""
        click.echo(click.style(f"[{passage.rank}] {passage.citation.title}", bold=True))
        click.echo(f"    {where}  (score {passage.score:.3f}{weak})")
        if passage.citation.link:
            click.echo(f"    {passage.citation.link}")
        click.echo()
        click.echo(_indent(passage.text))
        click.echo()


@cli.command(name="eval")
@click.argument("questions", type=click.Path(path_type=Path, exists=True))
@index_dir_option
@collection_option
@model_option
@click.option(
    "--retriever",
    type=click.Choice(RETRIEVERS),
    default="default",
    show_default=True,
    help="Which ranking the headline figures, --json and --verbose are about; the others are "
    "always scored beside it, on the same index in the same run.",
)
@click.option("--json", "as_json", is_flag=True, help="Print one JSON object instead of a table.")
@click.option(
    "--verbose", is_flag=True, help="Also list the misses: question, gold, what came first."
)
def eval_command(
    questions: Path,
    index_dir: Path | None,
    collection: str | None,
    model: str | None,
    retriever: str,
    as_json: bool,
    verbose: bool,
) -> None:
    """Score retrieval on QUESTIONS against the index: Recall@1/5/10 and MRR@10.

    QUESTIONS is a .jsonl question set (the format of shared/eval: id, question, answers, doc), a
    SQuAD .json file (its questions; doc is the article title), or a BEIR directory (corpus.jsonl,
    queries.jsonl, qrels/test.tsv), which is scored by nDCG@10 on document ids and indexed into
    the collection first when its index was not built from it.
    """
    from cultureqa.embedding.factory import load_embedder
    from cultureqa.evaluation.questions import load_any_questions, run_eval
    from cultureqa.index.collections import index_dir_of, open_index

    settings = _settings(index_dir=index_dir, model=model)
    collection = collection or settings.default_collection
    order = [retriever, *(r for r in RETRIEVERS if r != retriever)]
    try:
        embedder = load_embedder(settings)
        if questions.is_dir():
            from cultureqa.evaluation.beir import run_beir

            target = index_dir_of(settings, collection)
            _print_beir(run_beir(questions, target, embedder, order, progress=True), as_json)
            return
        loaded = load_any_questions(questions)
        index = open_index(settings, embedder, collection)
        results = run_eval(loaded, embedder, index, order, progress=True)
    except CultureQAError as exc:
        _fail(exc)
        return
    if as_json:
        body = results[retriever].as_dict()
        body["baselines"] = {name: results[name].as_dict() for name in order[1:]}
        click.echo(json.dumps(body, indent=2))
        return
    heading = f"{questions.name}: %s (index {index.manifest.version})"
    _print_scores(heading, results, order)
    if verbose:
        _print_misses(retriever, results[retriever])


def _print_beir(beir: BeirResult, as_json: bool) -> None:
    if as_json:
        click.echo(json.dumps(beir.as_dict(), indent=2))
        return
    click.echo(f"{beir.dataset}: {beir.queries} queries, {beir.documents} documents")
    click.echo(f"{'retriever':<10} {'nDCG@10':>8}")
    for name, value in beir.ndcg.items():
        click.echo(f"{name:<10} {value:>8.4f}")


def _print_scores(heading: str, results: dict[str, Scores], order: list[str]) -> None:
    first = results[order[0]]
    click.echo(heading % f"{first.questions} questions, {first.passages} passages")
    click.echo(
        f"{'retriever':<10} {'R@1':>6} {'R@5':>6} {'R@10':>6} {'MRR@10':>7} "
        f"{'right':>6} {'wrong':>6} {'honest':>6}"
    )
    for name in order:
        r = results[name]
        click.echo(
            f"{name:<10} {r.recall_at_1:>6.3f} {r.recall_at_5:>6.3f} {r.recall_at_10:>6.3f} "
            f"{r.mrr_at_10:>7.3f} {_answer_columns(r.answers)}"
        )
    if len(first.by_style) > 1 or "" not in first.by_style:
        click.echo(f"\nWhat a student sees, by question style ({order[0]}):")
        click.echo(f"{'style':<16} {'n':>4} {'right':>6} {'wrong':>6} {'honest':>6}")
        for style, scores in first.by_style.items():
            click.echo(f"{style or '-':<16} {scores.questions:>4} {_answer_columns(scores)}")
    click.echo(
        "right: answer shown holds a gold answer and cites the gold article (share of "
        "answerable); wrong: answer shown that is not right (share of all); honest: no answer "
        "where nothing answers (share of unanswerable)"
    )


def _answer_columns(scores: AnswerScores) -> str:
    honest = "-" if scores.honest_no_answer is None else f"{scores.honest_no_answer:.3f}"
    right = f"{scores.answer_right:.3f}" if scores.answerable else "-"
    return f"{right:>6} {scores.answer_wrong:>6.3f} {honest:>6}"


def _print_misses(retriever: str, scores: Scores) -> None:
    click.echo(f"\nMisses of {retriever} (gold not ranked first): {len(scores.misses)}")
    for miss in scores.misses:
        where = "not in the top 10" if miss.rank is None else f"rank {miss.rank}"
        click.echo(f"- {miss.question.id}: {miss.question.question}")
        click.echo(f"    gold: {miss.question.doc}: {' | '.join(miss.question.answers)} ({where})")
        if miss.first:
            click.echo(f"    first: {miss.first[0]}: {miss.first[1][:160]!r}")


def _indent(text: str) -> str:
    return "\n".join(f"    {line}" if line else "" for line in text.splitlines())


@cli.command()
@index_dir_option
@model_option
@click.option("--host", default=None, help="Address to bind [default: 127.0.0.1].")
@click.option("--port", type=click.IntRange(0, 65535), default=None, help="Port [default: 8000].")
@click.option(
    "--corpus-dir",
    type=click.Path(path_type=Path),
    default=None,
    help="Articles to build the index from when it is missing or stale [default: corpus/].",
)
@click.option(
    "--workers",
    type=click.IntRange(1, 64),
    default=None,
    help="Server processes, each with its own model [default: $CULTUREQA_WORKERS or 1].",
)
def serve(
    index_dir: Path | None,
    model: str | None,
    host: str | None,
    port: int | None,
    corpus_dir: Path | None,
    workers: int | None,
) -> None:
    """Serve the HTTP API (POST /ask, GET /health, GET /ready, /metrics, docs at /docs) and the
    chat widget (/widget.js, /embed; the educators' page with a demo and the snippets at /).

    If the index is missing, or stale against the corpus or the configured model, it is built
    first (once, before any worker starts), with a message saying so. Each request is logged
    as one JSON line.
    """
    from cultureqa.http.server import serve as run_server

    options = {
        "index_dir": index_dir,
        "model": model,
        "host": host,
        "port": port,
        "corpus_dir": corpus_dir,
        "workers": workers,
    }
    settings = _settings(**options)
    try:
        run_server(settings, options)
    except CultureQAError as exc:
        _fail(exc)


@cli.command()
@index_dir_option
@model_option
@click.option("--once", is_flag=True, help="Stop when no job is left, instead of waiting.")
@click.option(
    "--lease",
    type=click.FloatRange(2, 3600),
    default=60.0,
    show_default=True,
    help="Seconds a claimed job stays this worker's without a heartbeat (renewed every "
    "second): a worker killed mid-job leaves its job to the next claim after this long.",
)
@click.option(
    "--poll",
    type=click.FloatRange(0.05, 60),
    default=1.0,
    show_default=True,
    help="Seconds between looks at the job table when it is empty.",
)
@click.option(
    "--health-port",
    type=click.IntRange(0, 65535),
    default=None,
    help="Serve GET /health on this port, for probes [default: none].",
)
@click.option("--health-host", default="127.0.0.1", show_default=True, help="Address of /health.")
@click.option(
    "--seed-corpus",
    type=click.Path(path_type=Path, file_okay=False),
    default=None,
    help="Copy this directory's articles to CULTUREQA_CORPUS_DIR when that does not exist yet "
    "(the image's corpus to the shared volume, where uploads to the default collection land).",
)
def worker(
    index_dir: Path | None,
    model: str | None,
    once: bool,
    lease: float,
    poll: float,
    health_port: int | None,
    health_host: str,
    seed_corpus: Path | None,
) -> None:
    """Run the re-index jobs that servers with CULTUREQA_BUILDER=external queue in the database
    (CULTUREQA_DATABASE_URL), one at a time, publishing each new version in the shared index
    directory, where every replica picks it up. Start one per deployment; a second one is
    safe (a job is claimed by one worker only) but builds nothing faster.

    First it migrates the database (waiting while it is down) and builds the default
    collection from CULTUREQA_CORPUS_DIR when it is missing or stale. A job's progress and
    outcome are in its row, read by GET /admin/jobs/ID on every replica. SIGTERM gives the
    running job back to the queue; a worker killed outright leaves it to the next claim once
    its lease runs out.
    """
    import signal
    import threading

    from cultureqa.builder.main import WorkerOptions, run_worker

    settings = _settings(index_dir=index_dir, model=model)
    stopping = threading.Event()
    for signum in (signal.SIGTERM, signal.SIGINT):
        signal.signal(signum, lambda *_: stopping.set())
    options = WorkerOptions(
        once=once,
        lease=lease,
        poll=poll,
        health_host=health_host,
        health_port=health_port,
        seed_corpus=seed_corpus,
    )
    try:
        run_worker(settings, options, stopping)
    except CultureQAError as exc:
        _fail(exc)


@cli.command(name="collections")
@index_dir_option
@click.option("--json", "as_json", is_flag=True, help="Print a JSON list instead of text.")
def collections_command(index_dir: Path | None, as_json: bool) -> None:
    """List the collections: for each, the version served and the versions kept (for
    `cultureqa rollback`), article and passage counts, the sources its index was built from,
    its own articles folder, and warnings (a source that is gone, articles not indexed yet,
    no usable index)."""
    from dataclasses import asdict

    from cultureqa.index.collections import describe_collection, known_collections

    settings = _settings(index_dir=index_dir)
    infos = [describe_collection(settings, name) for name in known_collections(settings)]
    if as_json:
        click.echo(json.dumps([asdict(info) for info in infos], indent=2, default=str))
        return
    for info in infos:
        served = f"serving {info.version}" if info.version else "nothing served"
        click.echo(click.style(info.name, bold=True) + f"  ({served})")
        click.echo(
            f"    {info.articles} articles, {info.passages} passages"
            + (f", built {info.built_at}" if info.built_at else "")
        )
        click.echo(f"    versions kept: {', '.join(info.versions) or 'none'}")
        click.echo(f"    sources: {', '.join(info.sources) or 'none'} (format {info.format})")
        click.echo(f"    articles folder: {info.articles_dir}")
        for warning in info.warnings:
            click.echo(click.style("    warning: ", fg="yellow") + warning)


@cli.command()
@click.argument("collection")
@click.argument("version", required=False)
@index_dir_option
def rollback(collection: str, version: str | None, index_dir: Path | None) -> None:
    """Serve a kept version of COLLECTION again: VERSION, or the one before the current.

    The version is verified (manifest and checksums) before it is made current, atomically;
    running servers switch to it within CULTUREQA_RELOAD_INTERVAL seconds, without a restart.
    `cultureqa collections` lists the versions kept (the current one and the one before it).
    """
    from cultureqa.index.collections import index_dir_of
    from cultureqa.index.store import rollback as roll_back

    settings = _settings(index_dir=index_dir)
    try:
        manifest = roll_back(index_dir_of(settings, collection), version)
    except CultureQAError as exc:
        _fail(exc)
        return
    click.echo(
        f"Collection {collection!r} now serves version {manifest.version} "
        f"({manifest.articles} articles, {manifest.passages} passages, built "
        f"{manifest.built_at}); running servers switch to it within "
        f"{settings.reload_interval:g} s."
    )


@cli.group()
def db() -> None:
    """The question log's database (CULTUREQA_DATABASE_URL)."""


@db.command(name="upgrade")
@click.option(
    "--database-url",
    default=None,
    help="Database to migrate [default: $CULTUREQA_DATABASE_URL, else cultureqa.db in the "
    "feedback file's directory].",
)
def db_upgrade(database_url: str | None) -> None:
    """Migrate the question log's database to this release's schema, and import the feedback
    file of earlier releases once (the server also does both when it starts). Running it again
    changes nothing; data is never dropped."""
    from cultureqa.store.question_log import upgrade_from_settings

    settings = _settings(database_url=database_url)
    try:
        done = upgrade_from_settings(settings)
    except CultureQAError as exc:
        _fail(exc)
    migration, feedback = done.migration, done.feedback_import
    if migration.changed:
        before = migration.before or "empty"
        click.echo(f"Upgraded the database from {before} to {migration.after}.")
    else:
        click.echo(f"The database is already at {migration.after}; nothing to do.")
    if feedback.imported or feedback.skipped:
        skipped = f", skipped {_counted(feedback.skipped, 'line')}" if feedback.skipped else ""
        click.echo(
            f"Imported {_counted(feedback.imported, 'feedback record')} from "
            f"{settings.feedback_path}{skipped}."
        )


@cli.command()
@collection_option
@click.option(
    "--since",
    default="7d",
    show_default=True,
    help="First day: a number of days back (7d: the last 7 days, today included) or a date.",
)
@click.option("--until", default=None, help="Last day, a date [default: today, UTC].")
@click.option("--json", "as_json", is_flag=True, help="Print the export's JSON instead of text.")
def insights(collection: str | None, since: str, until: str | None, as_json: bool) -> None:
    """What was asked of a collection and what went unanswered, from the question log: per day,
    content gaps (unanswered and thumbs-down questions grouped by meaning, with the model),
    most-cited articles and sections, thumbs down. As GET /admin/insights/export gives."""
    from datetime import UTC, datetime

    from cultureqa.embedding.factory import load_embedder
    from cultureqa.store import insights as report
    from cultureqa.store.database import make_engine
    from cultureqa.store.question_log import database_url_of

    settings = _settings()
    try:
        start, end = report.date_range(since, until, datetime.now(UTC).date())
    except ValueError as exc:
        raise click.UsageError(str(exc)) from exc
    engine = make_engine(database_url_of(settings))
    try:
        found = report.read_insights(engine, collection or settings.default_collection, start, end)
        found = report.with_gaps(found, lambda texts: load_embedder(settings).embed(texts))
    except CultureQAError as exc:
        _fail(exc)
    finally:
        engine.dispose()
    click.echo(json.dumps(report.as_json(found), indent=2) if as_json else report.as_text(found))


@cli.group()
def lti() -> None:
    """LTI 1.3: the platforms (Canvas, Moodle...) that may launch the chat, and the tool's keys.

    Kept in the question log's database (CULTUREQA_DATABASE_URL), migrated first if needed.
    """


@contextmanager
def _lti_engine() -> Iterator[Any]:
    """An engine on the question log's database, migrated; disposed of after the block."""
    from cultureqa.store.database import create_sqlite_directory, make_engine
    from cultureqa.store.migrate import upgrade_database
    from cultureqa.store.question_log import database_url_of

    engine = make_engine(database_url_of(_settings()))
    try:
        create_sqlite_directory(engine.url)
        upgrade_database(engine)
        yield engine
    finally:
        engine.dispose()


@lti.command(name="add-platform")
@click.option("--issuer", required=True, help="The platform's issuer (iss), an https URL.")
@click.option("--client-id", required=True, help="The client id the platform gave the tool.")
@click.option("--auth-url", required=True, help="The platform's OIDC authorization endpoint.")
@click.option("--token-url", required=True, help="The platform's OAuth2 token endpoint.")
@click.option("--jwks-url", required=True, help="The platform's public keys (JWKS URL).")
@click.option(
    "--deployment-id",
    "deployment_ids",
    required=True,
    multiple=True,
    help="A deployment id launches may name; repeat for several.",
)
def lti_add_platform(
    issuer: str,
    client_id: str,
    auth_url: str,
    token_url: str,
    jwks_url: str,
    deployment_ids: tuple[str, ...],
) -> None:
    """Register a platform, or update the URLs of the one with this issuer and client id (and
    add deployment ids). URLs must be https; http only on localhost, for trying it out."""
    from cultureqa.lti.platforms import add_platform

    try:
        with _lti_engine() as engine:
            platform = add_platform(
                engine,
                issuer=issuer,
                client_id=client_id,
                auth_url=auth_url,
                token_url=token_url,
                jwks_url=jwks_url,
                deployment_ids=deployment_ids,
            )
    except CultureQAError as exc:
        _fail(exc)
        return
    click.echo(
        f"Registered {platform.issuer} (client id {platform.client_id}), deployments: "
        + ", ".join(sorted(platform.deployment_ids))
    )


@lti.command(name="platforms")
@click.option("--json", "as_json", is_flag=True, help="Print a JSON list instead of text.")
def lti_platforms(as_json: bool) -> None:
    """List the registered platforms."""
    from dataclasses import asdict

    from cultureqa.lti.platforms import list_platforms

    try:
        with _lti_engine() as engine:
            found = list_platforms(engine)
    except CultureQAError as exc:
        _fail(exc)
        return
    if as_json:
        rows = [{**asdict(p), "deployment_ids": sorted(p.deployment_ids)} for p in found]
        click.echo(json.dumps(rows, indent=2))
        return
    for p in found:
        click.echo(f"{p.issuer}  client id {p.client_id}")
        click.echo(f"    login {p.auth_url}\n    token {p.token_url}\n    keys {p.jwks_url}")
        click.echo(f"    deployments: {', '.join(sorted(p.deployment_ids))}")
    if not found:
        click.echo("No platforms registered; add one with `cultureqa lti add-platform`.")


@lti.command(name="remove-platform")
@click.option("--issuer", required=True, help="The platform's issuer.")
@click.option("--client-id", required=True, help="Its client id.")
def lti_remove_platform(issuer: str, client_id: str) -> None:
    """Forget a platform, with its deployments and its courses' collection bindings."""
    from cultureqa.lti.platforms import remove_platform

    try:
        with _lti_engine() as engine:
            removed = remove_platform(engine, issuer, client_id)
    except CultureQAError as exc:
        _fail(exc)
        return
    if not removed:
        click.echo("No platform is registered with that issuer and client id.", err=True)
        sys.exit(1)
    click.echo(f"Removed {issuer} (client id {client_id}).")


@lti.command(name="courses")
@click.option("--json", "as_json", is_flag=True, help="Print a JSON list instead of text.")
def lti_courses(as_json: bool) -> None:
    """List the courses placed by deep linking and the collection each asks."""
    from cultureqa.lti.courses import list_courses

    try:
        with _lti_engine() as engine:
            found = list_courses(engine)
    except CultureQAError as exc:
        _fail(exc)
        return
    if as_json:
        rows = [
            {
                "issuer": c.issuer,
                "client_id": c.client_id,
                "course": c.course,
                "collection": c.collection,
                "bound_at": c.bound_at.isoformat(),
            }
            for c in found
        ]
        click.echo(json.dumps(rows, indent=2))
        return
    for c in found:
        click.echo(f"{c.collection}  course {c.course} of {c.issuer} ({c.client_id})")
    if not found:
        click.echo("No course has placed the tool yet.")


@lti.command(name="unbind")
@click.argument("collection")
def lti_unbind(collection: str) -> None:
    """Free COLLECTION from its course: the course's next launch asks an instructor to place
    the tool again (and pick a collection); another course may then take this one."""
    from cultureqa.lti.courses import unbind_collection

    try:
        with _lti_engine() as engine:
            freed = unbind_collection(engine, collection)
    except CultureQAError as exc:
        _fail(exc)
        return
    if not freed:
        click.echo(f"No course asks the collection {collection!r}.", err=True)
        sys.exit(1)
    click.echo(f"The collection {collection!r} is free; its course must be placed again.")


@lti.command(name="keys")
@click.option("--rotate", is_flag=True, help="Make a new signing key; the old one is retired.")
def lti_keys(rotate: bool) -> None:
    """Show the tool's signing keys (published at /lti/jwks), or rotate them.

    After a rotation the new key signs; the retired one stays published and accepted for 24
    hours, longer than any token it signed lives, so nobody is logged out. The first key is
    also made by the server on first use."""
    from cultureqa.lti.keys import published_keys, rotate_keys

    try:
        with _lti_engine() as engine:
            if rotate or not published_keys(engine):
                made = rotate_keys(engine)
                click.echo(f"New signing key {made.kid}.")
            keys = published_keys(engine)
    except CultureQAError as exc:
        _fail(exc)
        return
    for key in keys:
        state = "signing" if key.retired_at is None else f"retired {key.retired_at:%Y-%m-%d %H:%M}"
        click.echo(f"{key.kid}  made {key.created_at:%Y-%m-%d %H:%M} UTC  {state}")


def _counted(number: int, noun: str) -> str:
    return f"{number} {noun}" + ("" if number == 1 else "s")


def main() -> None:
    cli()
