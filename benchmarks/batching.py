"""Micro-batching's throughput: requests/s over HTTP at 1, 8 and 32 concurrent clients, with
micro-batching off and on in the same run, against the hardware bound.

    .venv/bin/python -m benchmarks.batching [--seconds 10] [--rounds 2] [--json-out FILE]

Two `cultureqa serve` processes on loopback ports over the same index (by default the seed
corpus, built from corpus/ into a temporary directory), one with CULTUREQA_MICRO_BATCHING=false
and one with true (the other settings their defaults; `--mode` adds servers with other
settings); all start before any phase and only one is asked at a time. The phases alternate
between them (1 client, 8 off, 8 on, 32 off, 32 on) and the whole sequence runs `--rounds`
times, so that what else the machine does hits both alike; each figure is the mean over the
rounds, and the ratios are taken within one run. At 1 client, one client asks every server in
turn, the same question in random order, so that their p50s are taken under the same load.

The clients: BLEnD's English question texts (benchmarks/load.py), picked at random, `top_k` 5,
each client one keep-alive connection, written as raw HTTP/1.1 on asyncio streams in one
process beside the servers (0.11-0.14 ms of client CPU an answer, measured and reported, so
that the client takes as little as possible of the cores the servers share with it).

The hardware bound is cores x 1000 / the floor in ms, the floor being one question's embedding
plus its search in process (benchmarks/ask.py, with a served ask's threads): the requests/s the
cores would give if they did nothing but that. The servers' /metrics give the mean batch size,
and their CPU time per answer (psutil) what an answer costs whatever else the machine runs.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import random
import re
import statistics
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import httpx
import psutil

from benchmarks.ask import measure
from benchmarks.common import machine, write_json
from benchmarks.load import blend_questions, start_server
from cultureqa.embedding.factory import load_embedder
from cultureqa.index.collections import ensure_index
from cultureqa.runtime import available_cores
from cultureqa.settings import Settings
from cultureqa.testing import ServerProcess, wait_ready

MODES = {"off": {"CULTUREQA_MICRO_BATCHING": "false"}, "on": {"CULTUREQA_MICRO_BATCHING": "true"}}
CLIENTS = (1, 8, 32)


@dataclass
class Tally:
    """One phase's answers: latencies of the 200s, and the other statuses."""

    latencies: list[float] = field(default_factory=list)
    failures: dict[str, int] = field(default_factory=dict)
    seconds: float = 0.0

    def summary(self) -> dict[str, Any]:
        ms = sorted(s * 1000 for s in self.latencies)

        def at(q: float) -> float | None:
            return round(ms[min(len(ms) - 1, int(q * len(ms)))], 3) if ms else None

        return {
            "requests_per_s": round(len(ms) / self.seconds, 1) if self.seconds else 0.0,
            "p50_ms": at(0.5),
            "p95_ms": at(0.95),
            "p99_ms": at(0.99),
            "answers": len(ms),
            "failures": dict(self.failures),
        }


def request_bytes(question: str, host: str) -> bytes:
    body = json.dumps({"question": question, "top_k": 5}).encode()
    head = (
        f"POST /ask HTTP/1.1\r\nHost: {host}\r\nContent-Type: application/json\r\n"
        f"Content-Length: {len(body)}\r\n\r\n"
    )
    return head.encode() + body


CONTENT_LENGTH = re.compile(rb"\r\ncontent-length:\s*(\d+)", re.IGNORECASE)


async def client(
    url: str, requests: list[bytes], deadline: float, rng: random.Random, tally: Tally
) -> None:
    """Requests one after another on one connection until the deadline."""
    parts = urlsplit(url)
    reader, writer = await asyncio.open_connection(parts.hostname, parts.port)
    try:
        while time.monotonic() < deadline:
            await exchange(reader, writer, rng.choice(requests), tally)
    finally:
        writer.close()


async def exchange(
    reader: asyncio.StreamReader, writer: asyncio.StreamWriter, request: bytes, tally: Tally
) -> None:
    """One request and its response, tallied."""
    sent = time.perf_counter()
    writer.write(request)
    head = await reader.readuntil(b"\r\n\r\n")
    length = CONTENT_LENGTH.search(head)
    await reader.readexactly(int(length.group(1)) if length else 0)
    status = head[9:12].decode()
    if status == "200":
        tally.latencies.append(time.perf_counter() - sent)
    else:
        tally.failures[status] = tally.failures.get(status, 0) + 1


async def paired(
    urls: dict[str, str], requests: list[bytes], seconds: float, seed: int
) -> dict[str, Tally]:
    """One client asking every server in turn, the same question, in random order: at 1 client
    the latencies of both modes are taken under the same load, whatever else runs."""
    rng = random.Random(seed)  # noqa: S311 - picking questions, not secrets
    tallies = {mode: Tally() for mode in urls}
    connections = {}
    for mode, url in urls.items():
        parts = urlsplit(url)
        connections[mode] = await asyncio.open_connection(parts.hostname, parts.port)
    started = time.monotonic()
    try:
        while time.monotonic() < started + seconds:
            request = rng.choice(requests)
            for mode in rng.sample(list(urls), len(urls)):
                reader, writer = connections[mode]
                await exchange(reader, writer, request, tallies[mode])
    finally:
        for _, writer in connections.values():
            writer.close()
    for tally in tallies.values():  # the time spent on each server, as if it had been alone
        tally.seconds = sum(tally.latencies)
    return tallies


async def phase(url: str, requests: list[bytes], clients: int, seconds: float, seed: int) -> Tally:
    tally = Tally()
    rng = random.Random(seed)  # noqa: S311 - picking questions, not secrets
    started = time.monotonic()
    deadline = started + seconds
    await asyncio.gather(*(client(url, requests, deadline, rng, tally) for _ in range(clients)))
    tally.seconds = time.monotonic() - started
    return tally


def batch_counts(url: str) -> tuple[float, float]:
    """(passes, calls) of the server's micro-batcher so far, from /metrics; (0, 0) without."""
    text = httpx.get(f"{url}/metrics").text
    found = dict(re.findall(r"^cultureqa_embed_(passes|calls)_total ([0-9.e+]+)$", text, re.M))
    return float(found.get("passes", 0)), float(found.get("calls", 0))


def cpu_seconds(pid: int) -> float:
    """CPU time (user + system) the server (and any workers) has used so far."""
    process = psutil.Process(pid)
    total = 0.0
    for each in [process, *process.children(recursive=True)]:
        times = each.cpu_times()
        total += times.user + times.system
    return total


def run_phases(
    servers: dict[str, ServerProcess], questions: list[str], seconds: float, rounds: int
) -> dict[str, dict[str, Any]]:
    """Every (clients, mode) phase, alternating modes, `rounds` times; means over the rounds."""
    host = urlsplit(next(iter(servers.values())).url).netloc
    requests = [request_bytes(q, host) for q in questions]
    runs: dict[str, list[dict[str, Any]]] = {}
    for number in range(rounds):
        for clients in CLIENTS:
            before = {mode: batch_counts(server.url) for mode, server in servers.items()}
            cpu = {mode: cpu_seconds(server.process.pid) for mode, server in servers.items()}
            client_cpu = time.process_time()
            if clients == 1:
                urls = {mode: server.url for mode, server in servers.items()}
                tallies = asyncio.run(paired(urls, requests, seconds * len(servers), number))
            else:
                tallies = {
                    mode: asyncio.run(phase(server.url, requests, clients, seconds, number))
                    for mode, server in servers.items()
                }
            client_cpu = time.process_time() - client_cpu
            answered = sum(len(tally.latencies) for tally in tallies.values())
            for mode, server in servers.items():
                after = batch_counts(server.url)
                figures = tallies[mode].summary()
                passes = after[0] - before[mode][0]
                calls = after[1] - before[mode][1]
                figures["mean_batch"] = round(calls / passes, 2) if passes else 1.0
                used = cpu_seconds(server.process.pid) - cpu[mode]
                answers = figures["answers"]
                figures["server_cpu_ms"] = round(used * 1000 / answers, 3) if answers else None
                figures["client_cpu_ms"] = round(client_cpu * 1000 / answered, 3)
                runs.setdefault(f"{mode}_{clients}", []).append(figures)
                print(
                    f"round {number + 1}, {clients} clients, batching {mode}: {figures}",
                    file=sys.stderr,
                )
    return {key: mean_figures(figures) for key, figures in runs.items()}


def mean_figures(runs: list[dict[str, Any]]) -> dict[str, Any]:
    keys = ["requests_per_s", "p50_ms", "p95_ms", "p99_ms", "mean_batch"]
    keys += ["server_cpu_ms", "client_cpu_ms"]
    out: dict[str, Any] = {
        key: round(statistics.fmean(r[key] for r in runs if r[key] is not None), 2) for key in keys
    }
    out["answers"] = sum(r["answers"] for r in runs)
    out["failures"] = sum(sum(r["failures"].values()) for r in runs)
    out["rounds"] = [r["requests_per_s"] for r in runs]
    return out


def verdict(result: dict[str, Any]) -> dict[str, Any]:
    phases, bound = result["phases"], result["hardware_bound_rps"]
    on8, off8 = phases["on_8"]["requests_per_s"], phases["off_8"]["requests_per_s"]
    p50_on, p50_off = phases["on_1"]["p50_ms"], phases["off_1"]["p50_ms"]
    return {
        "on_over_off_8": round(on8 / off8, 2),
        "on_over_bound_8": round(on8 / bound, 2),
        "on_over_off_32": round(
            phases["on_32"]["requests_per_s"] / phases["off_32"]["requests_per_s"], 2
        ),
        "p50_1_client_on_minus_off_ms": round(p50_on - p50_off, 3),
        "holds": {
            "8 clients >= 1.5x off": on8 >= 1.5 * off8,
            "8 clients >= 0.7x bound": on8 >= 0.7 * bound,
            "p50 at 1 client <= off + 1 ms": p50_on <= p50_off + 1,
        },
    }


def report(result: dict[str, Any]) -> str:
    lines = [
        f"floor {result['floor_ms']} ms, {result['cores']} cores: hardware bound "
        f"{result['hardware_bound_rps']} req/s",
        "clients | batching | req/s (rounds) | p50 ms | p95 ms | p99 ms | mean batch | "
        "server CPU ms per answer",
    ]
    for clients in CLIENTS:
        for mode in result["modes"]:
            f = result["phases"][f"{mode}_{clients}"]
            lines.append(
                f"{clients} | {mode} | {f['requests_per_s']} {f['rounds']} | {f['p50_ms']} | "
                f"{f['p95_ms']} | {f['p99_ms']} | {f['mean_batch']} | {f['server_cpu_ms']}"
            )
    lines.append(json.dumps(result["verdict"]))
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--index-dir", type=Path, help="indexes to serve [seed corpus, built]")
    parser.add_argument("--seconds", type=float, default=10, help="seconds per phase [10]")
    parser.add_argument("--rounds", type=int, default=2, help="times each phase runs [2]")
    parser.add_argument("--floor-questions", type=int, default=300)
    parser.add_argument(
        "--mode",
        action="append",
        default=[],
        metavar="NAME:CULTUREQA_X=V,...",
        help="another server to compare, with these settings (repeatable)",
    )
    parser.add_argument("--json-out", type=Path)
    args = parser.parse_args()
    modes = dict(MODES)
    for mode in args.mode:
        name, _, pairs = mode.partition(":")
        modes[name] = dict(pair.split("=", 1) for pair in pairs.split(",") if pair)

    questions = blend_questions()
    result: dict[str, Any] = {"machine": machine(), "cores": available_cores(), "modes": modes}
    with tempfile.TemporaryDirectory(prefix="cultureqa-batching-") as tmp:
        index_dir = args.index_dir or Path(tmp) / "index"
        ensure_index(Settings(index_dir=index_dir), load_embedder(Settings()))
        print("floor ...", file=sys.stderr)
        floor = measure(index_dir, "default", questions[: args.floor_questions], rounds=1)
        result["floor_ms"] = floor["floor"]["median_ms"]
        result["passages"] = floor["passages"]
        result["hardware_bound_rps"] = round(result["cores"] * 1000 / result["floor_ms"], 1)
        servers = {
            mode: start_server(index_dir, Path(tmp) / f"server-{mode}.log", extra_env=env)
            for mode, env in modes.items()
        }
        try:
            for server in servers.values():
                wait_ready(server, timeout=120)
                warm = asyncio.run(
                    phase(
                        server.url,
                        [request_bytes(q, urlsplit(server.url).netloc) for q in questions],
                        8,
                        2,
                        99,
                    )
                )
                result.setdefault("warmup_answers", []).append(len(warm.latencies))
            result["phases"] = run_phases(servers, questions, args.seconds, args.rounds)
        finally:
            for server in servers.values():
                server.stop()
    result["load_average_at_end"] = os.getloadavg()[0]
    result["verdict"] = verdict(result)
    print(report(result))
    write_json(args.json_out, result)


if __name__ == "__main__":
    main()
