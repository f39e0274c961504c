"""Load test: `cultureqa serve` on a free loopback port, asked real culture questions (BLEnD's
English question texts) by many concurrent clients.

Phases, one after another against the same server:
  1 client, then 8 clients (throughput at 8 vs 1: do concurrent asks share the cores well?),
  then 50 clients for the main run, sampling the server's resident memory every second.

Prints the figures and writes them as JSON. Rate limiting is turned off for the run (all
clients come from one address); everything else is the server's defaults unless given.

    .venv/bin/python -m benchmarks.load --json benchmarks/results/load.json
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import random
import statistics
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import psutil

from benchmarks.common import machine
from cultureqa.testing import ServerProcess, start_serve, wait_ready

REPO = Path(__file__).resolve().parent.parent
BLEND = REPO.parent / "shared" / "data" / "blend" / "annotations"


def blend_questions(directory: Path = BLEND) -> list[str]:
    """Every English question text in BLEnD (16 countries, 500 questions each)."""
    questions: list[str] = []
    for path in sorted(directory.glob("*_data.json")):
        for item in json.loads(path.read_text(encoding="utf-8")).values():
            text = (item.get("en_question") or "").strip()
            if text:
                questions.append(text)
    if not questions:
        raise SystemExit(f"no questions found in {directory}")
    return questions


def ask_body(question: str, collection: str | None = None) -> dict[str, Any]:
    body: dict[str, Any] = {"question": question, "top_k": 5}
    if collection:
        body["collection"] = collection
    return body


def server_rss(pid: int) -> int:
    """Resident bytes of the server and its worker processes."""
    process = psutil.Process(pid)
    total = process.memory_info().rss
    for child in process.children(recursive=True):
        with contextlib.suppress(psutil.NoSuchProcess):
            total += child.memory_info().rss
    return int(total)


@dataclass
class Phase:
    clients: int
    seconds: float
    latencies: list[float] = field(default_factory=list)
    statuses: dict[int, int] = field(default_factory=dict)
    connection_errors: int = 0
    other_errors: int = 0
    rss_samples: list[tuple[float, int]] = field(default_factory=list)
    elapsed: float = 0.0

    def summary(self) -> dict[str, Any]:
        ok = sorted(self.latencies)

        def pct(p: float) -> float | None:
            if not ok:
                return None
            return round(ok[min(len(ok) - 1, int(p / 100 * len(ok)))] * 1000, 1)

        total = sum(self.statuses.values())
        out: dict[str, Any] = {
            "clients": self.clients,
            "seconds": round(self.elapsed, 1),
            "requests": total,
            "ok": self.statuses.get(200, 0),
            "requests_per_s": round(self.statuses.get(200, 0) / self.elapsed, 1),
            "p50_ms": pct(50),
            "p95_ms": pct(95),
            "p99_ms": pct(99),
            "mean_ms": round(statistics.fmean(ok) * 1000, 1) if ok else None,
            "status_5xx": sum(n for s, n in self.statuses.items() if s >= 500),
            "status_429": self.statuses.get(429, 0),
            "other_status": {
                str(s): n for s, n in self.statuses.items() if s != 200 and s != 429 and s < 500
            },
            "connection_errors": self.connection_errors,
            "other_errors": self.other_errors,
        }
        if self.rss_samples:
            start = self.rss_samples[0][0]
            first = [r for t, r in self.rss_samples if t - start < 10]
            last = [r for t, r in self.rss_samples if t - start >= self.elapsed - 10]
            out["rss_first_10s_mb"] = round(statistics.fmean(first) / 2**20, 1)
            out["rss_last_10s_mb"] = round(statistics.fmean(last) / 2**20, 1)
            out["rss_growth_pct"] = round(
                (statistics.fmean(last) / statistics.fmean(first) - 1) * 100, 2
            )
        return out


async def run_phase(
    url: str,
    questions: list[str],
    phase: Phase,
    pid: int,
    seed: int,
    sample_rss: bool,
    collection: str | None = None,
) -> None:
    rng = random.Random(seed)  # noqa: S311 - picking questions, not secrets
    deadline = time.monotonic() + phase.seconds
    limits = httpx.Limits(max_connections=phase.clients, max_keepalive_connections=phase.clients)

    async with httpx.AsyncClient(base_url=url, timeout=60, limits=limits) as http:

        async def client() -> None:
            while time.monotonic() < deadline:
                question = rng.choice(questions)
                started = time.perf_counter()
                try:
                    response = await http.post("/ask", json=ask_body(question, collection))
                except httpx.TransportError:
                    phase.connection_errors += 1
                    continue
                except Exception:
                    phase.other_errors += 1
                    continue
                took = time.perf_counter() - started
                phase.statuses[response.status_code] = (
                    phase.statuses.get(response.status_code, 0) + 1
                )
                if response.status_code == 200:
                    phase.latencies.append(took)

        async def sampler() -> None:
            while time.monotonic() < deadline:
                phase.rss_samples.append((time.monotonic(), server_rss(pid)))
                await asyncio.sleep(1.0)

        started = time.monotonic()
        tasks = [client() for _ in range(phase.clients)]
        if sample_rss:
            tasks.append(sampler())
        await asyncio.gather(*tasks)
        phase.elapsed = time.monotonic() - started


def start_server(
    index_dir: Path,
    log_path: Path,
    workers: int = 1,
    extra_env: dict[str, str] | None = None,
) -> ServerProcess:
    """`cultureqa serve` on a free loopback port over the indexes in `index_dir`, output to
    `log_path`; the default collection is built there from corpus/ when it is missing."""
    env = {
        "CULTUREQA_RATE_LIMIT_PER_MINUTE": "0",  # every client here is 127.0.0.1
        "CULTUREQA_LOG_LEVEL": "warning",
        **(extra_env or {}),
    }
    args = ["--workers", str(workers), "--index-dir", str(index_dir)]
    return start_serve(args, log_path, cwd=REPO, env=env)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawTextHelpFormatter
    )
    parser.add_argument("--clients", type=int, default=50, help="clients in the main run [50]")
    parser.add_argument("--duration", type=float, default=60, help="seconds of the main run [60]")
    parser.add_argument(
        "--scaling-duration", type=float, default=20, help="seconds at 1 and at 8 clients [20]"
    )
    parser.add_argument("--warmup", type=float, default=5, help="seconds of warm-up [5]")
    parser.add_argument("--workers", type=int, default=1, help="`serve --workers` [1]")
    parser.add_argument("--json", type=Path, default=None, help="write the figures here")
    parser.add_argument(
        "--index-dir", type=Path, help="serve these indexes [a temporary dir, built from corpus/]"
    )
    parser.add_argument(
        "--env",
        action="append",
        default=[],
        metavar="NAME=VALUE",
        help="extra CULTUREQA_* settings for the server (repeatable)",
    )
    args = parser.parse_args(argv)

    questions = blend_questions()
    extra_env = dict(item.split("=", 1) for item in args.env)
    results: dict[str, Any] = {"machine": machine(), "questions": len(questions)}
    with tempfile.TemporaryDirectory(prefix="cultureqa-load-") as tmp:
        workdir = Path(tmp)
        server = start_server(
            args.index_dir or workdir / "index", workdir / "server.log", args.workers, extra_env
        )
        url = server.url
        try:
            wait_ready(server, timeout=300, poll=0.5)
            pid = server.process.pid
            results["rss_before_mb"] = round(server_rss(pid) / 2**20, 1)
            asyncio.run(run_phase(url, questions, Phase(8, args.warmup), pid, 0, False))
            phases = {}
            for name, clients, seconds, seed, sample in [
                ("one_client", 1, args.scaling_duration, 1, False),
                ("eight_clients", 8, args.scaling_duration, 8, False),
                ("main", args.clients, args.duration, 50, True),
            ]:
                phase = Phase(clients, seconds)
                asyncio.run(run_phase(url, questions, phase, pid, seed, sample))
                phases[name] = phase.summary()
                print(f"{name}: {json.dumps(phases[name])}", flush=True)
            results["rss_after_mb"] = round(server_rss(pid) / 2**20, 1)
            results["phases"] = phases
            one = phases["one_client"]["requests_per_s"]
            eight = phases["eight_clients"]["requests_per_s"]
            results["speedup_8_vs_1"] = round(eight / one, 2) if one else None
        finally:
            server.stop()
        results["server_log_tail"] = (workdir / "server.log").read_text(errors="replace")[-2000:]

    main_run = results["phases"]["main"]
    print()
    print(f"machine: {results['machine']}")
    print(f"questions: {results['questions']} BLEnD English question texts")
    print(
        f"{args.clients} clients, {main_run['seconds']} s: {main_run['requests_per_s']} req/s, "
        f"p50 {main_run['p50_ms']} ms, p95 {main_run['p95_ms']} ms, p99 {main_run['p99_ms']} ms"
    )
    print(
        f"errors: 5xx {main_run['status_5xx']}, connection {main_run['connection_errors']}, "
        f"429 {main_run['status_429']}, other {main_run['other_status']}"
    )
    print(
        f"server RSS: {results['rss_before_mb']} MB before, {results['rss_after_mb']} MB after; "
        f"first 10 s {main_run.get('rss_first_10s_mb')} MB, last 10 s "
        f"{main_run.get('rss_last_10s_mb')} MB ({main_run.get('rss_growth_pct')}%)"
    )
    print(
        f"throughput: 1 client {results['phases']['one_client']['requests_per_s']} req/s, "
        f"8 clients {results['phases']['eight_clients']['requests_per_s']} req/s "
        f"({results['speedup_8_vs_1']}x)"
    )
    if args.json:
        args.json.parent.mkdir(parents=True, exist_ok=True)
        args.json.write_text(json.dumps(results, indent=2) + "\n")
        print(f"wrote {args.json}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
