"""Load with the question log on (issue 14): `cultureqa serve` asked BLEnD's English questions by
50 clients for 60 s, on SQLite and on PostgreSQL, each on a fresh database. After each run the
server is stopped (its writer writes what is queued) and the asks table is counted: it must
hold exactly one row per 200 answer (nothing lost), with zero 5xx. First, one client asks two
servers in turn, the log off and on, for the cost of the log at one client (p50 against p50,
under the same load); one client's p50 with the log off is also measured alone.

PostgreSQL comes from --postgres-url (or CULTUREQA_TEST_DATABASE_URL): a database from which
a scratch database is created and dropped; without one that half is skipped, saying so.

    .venv/bin/python -m benchmarks.question_log_load --json benchmarks/results/qlog_load.json
"""

from __future__ import annotations

import argparse
import asyncio
import os
import random
import secrets
import statistics
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import httpx
from sqlalchemy import create_engine, func, select, text

from benchmarks.common import machine, write_json
from benchmarks.load import Phase, blend_questions, run_phase, start_server
from cultureqa.store import schema
from cultureqa.store.database import make_engine, normalize_url
from cultureqa.testing import wait_ready


@contextmanager
def scratch_postgres(admin_url: str) -> Iterator[str]:
    """A new PostgreSQL database for one run, dropped after it; yields its URL."""
    admin = create_engine(normalize_url(admin_url), isolation_level="AUTOCOMMIT")
    name = f"cqa_bench_{secrets.token_hex(4)}"
    with admin.connect() as connection:
        connection.execute(text(f'CREATE DATABASE "{name}"'))
    try:
        yield admin.url.set(database=name).render_as_string(hide_password=False)
    finally:
        with admin.connect() as connection:
            connection.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


def logged_asks(database_url: str) -> tuple[int, int]:
    """Rows in asks, and the questions the per-day counts hold."""
    engine = make_engine(database_url)
    try:
        with engine.connect() as connection:
            asks = connection.execute(select(func.count()).select_from(schema.asks)).scalar_one()
            days = connection.execute(select(func.sum(schema.daily_counts.c.asks))).scalar()
    finally:
        engine.dispose()
    return int(asks), int(days or 0)


def writer_metrics(url: str) -> dict[str, float]:
    """The question log's lines of /metrics."""
    found: dict[str, float] = {}
    for line in httpx.get(f"{url}/metrics", timeout=30).text.splitlines():
        if line.startswith("cultureqa_question_log_"):
            name, _, value = line.rpartition(" ")
            found[name] = float(value)
    return found


def run(
    label: str,
    database_url: str,
    mode: str,
    phases: list[tuple[str, int, float]],
    index_dir: Path,
    workdir: Path,
) -> dict[str, Any]:
    """One server on `database_url` in question-log `mode`, the phases one after another, then
    stopped and its asks counted."""
    questions = blend_questions()
    env = {
        "CULTUREQA_DATABASE_URL": database_url,
        "CULTUREQA_QUESTION_LOG": mode,
        "CULTUREQA_FEEDBACK_PATH": str(workdir / f"{label}-feedback.jsonl"),
    }
    server = start_server(index_dir, workdir / f"{label}.log", extra_env=env)
    results: dict[str, Any] = {"database": label, "mode": mode, "phases": {}}
    ok = 0
    try:
        wait_ready(server, timeout=300, poll=0.5)
        for seed, (name, clients, seconds) in enumerate(phases):
            phase = Phase(clients, seconds)
            asyncio.run(run_phase(server.url, questions, phase, server.process.pid, seed, False))
            ok += phase.statuses.get(200, 0)
            results["phases"][name] = phase.summary()
            print(f"{label} {mode} {name}: {results['phases'][name]}", flush=True)
        results["writer"] = writer_metrics(server.url)
    finally:
        server.stop()
    results["answers_200"] = ok
    results["status_5xx"] = sum(p["status_5xx"] for p in results["phases"].values())
    results["logged_asks"], results["counted_asks"] = logged_asks(database_url)
    results["nothing_lost"] = (
        results["counted_asks"] == ok
        and (mode == "off" or results["logged_asks"] == ok)
        and results["status_5xx"] == 0
    )
    return results


def paired_one_client(index_dir: Path, workdir: Path, seconds: float) -> dict[str, Any]:
    """One client asking two servers in turn, one with the question log off and one with it
    on (SQLite), the same question to both: whatever else loads the machine loads both alike,
    so the difference of the p50s is the log's cost."""
    questions = blend_questions()
    servers = {}
    for mode in ("off", "anonymous"):
        env = {
            "CULTUREQA_DATABASE_URL": f"sqlite:///{workdir / f'paired-{mode}.db'}",
            "CULTUREQA_QUESTION_LOG": mode,
            "CULTUREQA_FEEDBACK_PATH": str(workdir / f"paired-{mode}.jsonl"),
        }
        servers[mode] = start_server(index_dir, workdir / f"paired-{mode}.log", extra_env=env)
    latencies: dict[str, list[float]] = {mode: [] for mode in servers}
    rng = random.Random(7)  # noqa: S311 - picking questions, not secrets
    try:
        for server in servers.values():
            wait_ready(server, timeout=300, poll=0.5)
        clients = {mode: httpx.Client(base_url=s.url, timeout=60) for mode, s in servers.items()}
        deadline = time.monotonic() + seconds
        while time.monotonic() < deadline:
            body = {"question": rng.choice(questions), "top_k": 5}
            for mode in rng.sample(list(clients), 2):  # which goes first, at random
                started = time.perf_counter()
                response = clients[mode].post("/ask", json=body)
                if response.status_code == 200:
                    latencies[mode].append(time.perf_counter() - started)
        for client in clients.values():
            client.close()
    finally:
        for server in servers.values():
            server.stop()
    p50 = {mode: round(statistics.median(found) * 1000, 2) for mode, found in latencies.items()}
    return {
        "asks_each": min(len(found) for found in latencies.values()),
        "p50_ms_log_off": p50["off"],
        "p50_ms_log_on": p50["anonymous"],
        "difference_ms": round(p50["anonymous"] - p50["off"], 2),
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawTextHelpFormatter
    )
    parser.add_argument("--clients", type=int, default=50, help="clients in the main run [50]")
    parser.add_argument("--duration", type=float, default=60, help="seconds of the main run [60]")
    parser.add_argument("--one-client", type=float, default=20, help="seconds at 1 client [20]")
    parser.add_argument("--warmup", type=float, default=5, help="seconds of warm-up [5]")
    parser.add_argument(
        "--paired", type=float, default=30, help="seconds of the paired log off/on client [30]"
    )
    parser.add_argument(
        "--postgres-url",
        default=os.environ.get("CULTUREQA_TEST_DATABASE_URL"),
        help="PostgreSQL to make a scratch database in [$CULTUREQA_TEST_DATABASE_URL]",
    )
    parser.add_argument("--json", type=Path, default=None, help="write the figures here")
    args = parser.parse_args(argv)

    on = [
        ("warmup", 8, args.warmup),
        ("one_client", 1, args.one_client),
        ("main", args.clients, args.duration),
    ]
    off = [("warmup", 8, args.warmup), ("one_client", 1, args.one_client)]
    results: dict[str, Any] = {"machine": machine(), "runs": []}
    with tempfile.TemporaryDirectory(prefix="cultureqa-qlog-load-") as tmp:
        workdir = Path(tmp)
        index_dir = workdir / "index"
        if args.paired > 0:
            # First: the servers it starts build the index the later runs reuse.
            results["paired"] = paired_one_client(index_dir, workdir, args.paired)
            print(f"paired one client: {results['paired']}", flush=True)
        sqlite = f"sqlite:///{workdir / 'off.db'}"
        results["runs"].append(run("sqlite", sqlite, "off", off, index_dir, workdir))
        sqlite = f"sqlite:///{workdir / 'on.db'}"
        results["runs"].append(run("sqlite", sqlite, "anonymous", on, index_dir, workdir))
        if args.postgres_url:
            with scratch_postgres(args.postgres_url) as url:
                results["runs"].append(run("postgresql", url, "anonymous", on, index_dir, workdir))
        else:
            print("PostgreSQL skipped: no --postgres-url nor CULTUREQA_TEST_DATABASE_URL")
    write_json(args.json, results)
    print_summary(results)
    return 0 if all(r["nothing_lost"] for r in results["runs"]) else 1


def print_summary(results: dict[str, Any]) -> None:
    print()
    print(f"machine: {results['machine']}")
    baseline = results["runs"][0]["phases"]["one_client"]["p50_ms"]
    paired = results.get("paired")
    if paired:
        print(
            f"one client, the log off and on in turn ({paired['asks_each']} asks each): p50 "
            f"{paired['p50_ms_log_off']} ms off, {paired['p50_ms_log_on']} ms on "
            f"({paired['difference_ms']:+.2f} ms)"
        )
    for r in results["runs"]:
        one = r["phases"]["one_client"]["p50_ms"]
        main_run = r["phases"].get("main")
        line = (
            f"{r['database']:10s} {r['mode']:9s} 200s {r['answers_200']:6d}, logged "
            f"{r['logged_asks']:6d}, per-day counts {r['counted_asks']:6d}, 5xx "
            f"{r['status_5xx']}; 1-client p50 {one} ms ({(one or 0) - (baseline or 0):+.1f} ms "
            "vs log off)"
        )
        if main_run:
            line += (
                f"; {main_run['clients']} clients: {main_run['requests_per_s']} req/s, p50 "
                f"{main_run['p50_ms']} ms, p99 {main_run['p99_ms']} ms"
            )
        print(line + ("" if r["nothing_lost"] else "  <- LOST OR FAILED"))


if __name__ == "__main__":
    raise SystemExit(main())
