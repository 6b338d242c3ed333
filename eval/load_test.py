"""Load test of the web app: concurrent clients for a fixed time, a mix of normal and odd questions.

    python eval/load_test.py                          # starts `python app.py` on a free port (real corpus)
    python eval/load_test.py --duration 60 --clients 50
    python eval/load_test.py --url http://127.0.0.1:7860/ [--pid 1234]
    python eval/load_test.py --index /tmp/some-index  # RAG_INDEX_DIR for the app it starts

Each of --clients worker threads has its own gradio_client Client and calls the "/search" endpoint in a loop
until --duration seconds have passed or --max-requests requests have been sent in all. The questions mix:
normal ones (the test set), long ones (1,500 characters, accepted), empty ones and over-long ones (3,000
characters), which the app must refuse with its clear message: those refusals are counted apart, and any
other failure (or a refusal of a valid question, or an answer to an invalid one) is an error.

Prints throughput, p50/p95/p99 latency per kind, the error count, and the app's resident memory (psutil,
process tree) at start and end, with the peak. Exits 1 if there was any error. Localhost only.
"""

from __future__ import annotations

import argparse
import random
import statistics
import sys
import threading
import time
from collections import Counter, defaultdict
from pathlib import Path

import httpx

sys.path.insert(0, str(Path(__file__).resolve().parent))
from load_app import MemoryWatch, app_target, pct, questions, stop_app, wait_ready  # noqa: E402

LONG_CHARS = 1500
OVER_LONG_CHARS = 3000
MIX = (("normal", 0.80), ("long", 0.10), ("empty", 0.05), ("over-long", 0.05))
EXPECTED_REFUSAL = {"empty": "vide", "over-long": "trop longue"}


def long_question(base: str, n: int) -> str:
    text = base
    while len(text) < n:
        text += " " + base
    return text[:n]


def make_question(kind: str, rng: random.Random, pool: list[str]) -> str:
    base = rng.choice(pool)
    if kind == "normal":
        return base
    if kind == "long":
        return long_question(base, LONG_CHARS)
    if kind == "empty":
        return rng.choice(["", "   ", "\n\t "])
    return long_question(base, OVER_LONG_CHARS)


class Tally:
    def __init__(self, budget: int) -> None:
        self.lock = threading.Lock()
        self.budget = budget
        self.sent = 0
        self.latencies: dict[str, list[float]] = defaultdict(list)
        self.counts: Counter = Counter()
        self.errors: list[str] = []

    def take(self) -> bool:
        with self.lock:
            if self.sent >= self.budget:
                return False
            self.sent += 1
            return True


def worker(url: str, seed: int, deadline: float, tally: Tally, pool: list[str], k: int) -> None:
    from gradio_client import Client

    rng = random.Random(seed)
    kinds, weights = zip(*MIX)
    try:
        client = Client(url, verbose=False)
    except Exception as exc:  # noqa: BLE001
        with tally.lock:
            tally.errors.append(f"client {seed}: could not connect: {exc}")
        return
    while time.time() < deadline and tally.take():
        kind = rng.choices(kinds, weights)[0]
        q = make_question(kind, rng, pool)
        t0 = time.perf_counter()
        outcome, problem = "answered", None
        try:
            result = client.predict(q, k, "hybrid", None, api_name="/search")
            if not isinstance(result, dict) or "passages" not in result:
                problem = f"unexpected result {str(result)[:100]}"
            elif kind in EXPECTED_REFUSAL:
                problem = "an invalid question was answered"
        except Exception as exc:  # noqa: BLE001 (every failure is counted)
            message = str(exc)
            if kind in EXPECTED_REFUSAL and EXPECTED_REFUSAL[kind] in message:
                outcome = "refused"
            else:
                problem = f"{exc.__class__.__name__}: {message[:200]}"
        elapsed = time.perf_counter() - t0
        with tally.lock:
            if problem:
                tally.counts["error"] += 1
                tally.errors.append(f"{kind} ({len(q)} chars): {problem}")
            else:
                tally.counts[outcome] += 1
                tally.latencies[kind].append(elapsed)


def fmt_latency(values: list[float]) -> str:
    if not values:
        return "no requests"
    return (f"n {len(values):5d}  p50 {pct(values, 50):6.2f} s  p95 {pct(values, 95):6.2f} s  "
            f"p99 {pct(values, 99):6.2f} s  max {max(values):6.2f} s  mean {statistics.mean(values):6.2f} s")


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--url", help="a running app on localhost; default: start `python app.py` on a free port")
    ap.add_argument("--pid", type=int, help="the running app's process id, for its memory (with --url)")
    ap.add_argument("--index", help="RAG_INDEX_DIR for the app this script starts (default: the app's own)")
    ap.add_argument("--clients", type=int, default=50)
    ap.add_argument("--duration", type=float, default=60, help="seconds of load (default 60)")
    ap.add_argument("--max-requests", type=int, default=20_000, help="stop after this many requests in all")
    ap.add_argument("-k", type=int, default=5)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--startup-timeout", type=float, default=900)
    ap.add_argument("--readme", action="store_true",
                    help="also put the figures into README.md, between <!-- soak:start --> and <!-- soak:end -->")
    args = ap.parse_args(argv)

    url, proc, pid = app_target(args.url, args.pid, "load_test.log", args.index)
    try:
        t0 = time.time()
        wait_ready(url, proc, args.startup_timeout)
        print(f"app ready after {time.time() - t0:.1f} s", flush=True)
        watch = MemoryWatch(pid) if pid else None
        rss_start = rss_end = None
        if watch:
            rss_start = watch.rss()
            watch.start()
        pool = questions(200)
        tally = Tally(args.max_requests)
        print(f"{args.clients} clients for {args.duration:.0f} s (at most {args.max_requests} requests); mix: "
              + ", ".join(f"{kind} {w:.0%}" for kind, w in MIX), flush=True)
        start = time.perf_counter()
        deadline = time.time() + args.duration
        threads = [threading.Thread(target=worker, args=(url, args.seed * 1000 + i, deadline, tally, pool, args.k),
                                    daemon=True) for i in range(args.clients)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        wall = time.perf_counter() - start
        if watch:
            rss_end = watch.rss()
            watch.stop.set()
            watch.join()
        done = tally.counts["answered"] + tally.counts["refused"]
        print(f"\nrequests: {tally.sent} in {wall:.1f} s; answered {tally.counts['answered']}, "
              f"expected refusals {tally.counts['refused']}, errors {tally.counts['error']}")
        print(f"throughput: {done / wall:.2f} requests/s ({tally.counts['answered'] / wall:.2f} answers/s)")
        everything = [x for v in tally.latencies.values() for x in v]
        print(f"latency   all       {fmt_latency(everything)}")
        for kind, _ in MIX:
            print(f"          {kind:9} {fmt_latency(tally.latencies.get(kind, []))}")
        for e in tally.errors[:10]:
            print("  error:", e)
        if watch:
            print(f"app memory (RSS, process tree): start {rss_start / 2**20:.0f} MiB, end {rss_end / 2**20:.0f} MiB, "
                  f"peak {watch.peak / 2**20:.0f} MiB")
        else:
            print("app memory: unknown (pass --pid)")
        alive = proc is None or proc.poll() is None
        up = False
        try:
            up = httpx.get(url, timeout=10).status_code == 200
        except httpx.HTTPError:
            pass
        print(f"app still up after the load: {'yes' if alive and up else 'NO'}")
        if args.readme and everything:
            from eval.__main__ import _update_readme

            at = lambda p: pct(everything, p)  # noqa: E731
            memory = (f"{rss_start / 2**20:.0f} → {rss_end / 2**20:.0f} MiB (peak {watch.peak / 2**20:.0f})"
                      if watch else "unknown")
            _update_readme("\n".join([
                "| clients, duration | requests | answered | expected refusals | errors | throughput "
                "| p50 | p95 | p99 | app memory start → end | up after |",
                "|---|---:|---:|---:|---:|---:|---:|---:|---:|---|---|",
                f"| {args.clients}, {wall:.0f} s | {tally.sent} | {tally.counts['answered']} | {tally.counts['refused']}"
                f" | {tally.counts['error']} | {done / wall:.2f} req/s | {at(50):.2f} s | {at(95):.2f} s | {at(99):.2f} s"
                f" | {memory} | {'yes' if alive and up else 'NO'} |",
                "", "Regenerate with `python eval/load_test.py --readme` (normal, 1,500-character, empty and "
                "3,000-character questions mixed; the last two are refused by design)."]),
                "<!-- soak:start -->", "<!-- soak:end -->")
        return 1 if tally.counts["error"] or not (alive and up) or not done else 0
    finally:
        stop_app(proc)


if __name__ == "__main__":
    sys.exit(main())
