"""Load check of the web app (a benchmark, not a timed test).

    python -m eval.load_app                    # starts `python app.py` on a free port (real corpus)
    python -m eval.load_app --url http://127.0.0.1:7860/ [--pid 1234]

N concurrent gradio_client clients (default 20) each ask M questions (default 10)
through the `search` endpoint; every request must succeed. Prints p50/p95/max
latency, throughput and the app's peak resident memory (psutil, the app process
and its children, sampled every 50 ms). Exits 1 if any request failed.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from concurrent.futures import ThreadPoolExecutor

from .common import MemoryWatch, app_target, percentile, questions, stop_app, update_readme, wait_ready


def run_client(url: str, qs: list[str], k: int) -> tuple[list[float], list[str]]:
    from gradio_client import Client

    client = Client(url, verbose=False)
    latencies, errors = [], []
    for q in qs:
        t0 = time.perf_counter()
        try:
            result = client.predict(q, k, "hybrid", None, api_name="/search")
            if not isinstance(result, dict) or "passages" not in result:
                raise ValueError(f"unexpected result {str(result)[:100]}")
            latencies.append(time.perf_counter() - t0)
        except Exception as exc:  # noqa: BLE001 (a load test counts every failure)
            errors.append(f"{q[:40]!r}: {exc.__class__.__name__}: {exc}")
    return latencies, errors


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--url", help="a running app on localhost; default: start `python app.py` on a free port")
    ap.add_argument("--pid", type=int, help="the running app's process id, for its memory (with --url)")
    ap.add_argument("--clients", type=int, default=20)
    ap.add_argument("--questions", type=int, default=10, help="questions per client")
    ap.add_argument("-k", type=int, default=5)
    ap.add_argument("--startup-timeout", type=float, default=900)
    ap.add_argument("--readme", action="store_true",
                    help="also put the figures into docs/performance.md, between <!-- load:start --> and "
                         "<!-- load:end -->")
    args = ap.parse_args(argv)

    url, proc, pid = app_target(args.url, args.pid, "load_app.log")
    try:
        wait_ready(url, proc, args.startup_timeout)
        watch = MemoryWatch(pid) if pid else None
        if watch:
            watch.start()
            time.sleep(0.2)
            idle = watch.rss()
        qs = questions(args.clients * args.questions)
        batches = [qs[i * args.questions:(i + 1) * args.questions] for i in range(args.clients)]
        print(f"{args.clients} clients x {args.questions} questions ...", flush=True)
        start = time.perf_counter()
        with ThreadPoolExecutor(args.clients) as pool:
            results = list(pool.map(lambda b: run_client(url, b, args.k), batches))
        wall = time.perf_counter() - start
        if watch:
            watch.stop.set()
            watch.join()
        latencies = [x for lat, _ in results for x in lat]
        errors = [e for _, errs in results for e in errs]
        total = args.clients * args.questions
        print(f"requests: {total}, answered: {len(latencies)}, errors: {len(errors)}")
        for e in errors[:10]:
            print("  error:", e)
        if latencies:
            print(f"latency: p50 {percentile(latencies, 50):.2f} s, p95 {percentile(latencies, 95):.2f} s, "
                  f"max {max(latencies):.2f} s, mean {statistics.mean(latencies):.2f} s")
        print(f"wall time {wall:.1f} s, throughput {len(latencies) / wall:.1f} answers/s")
        if watch:
            print(f"app memory (RSS, process tree): idle {idle / 2**20:.0f} MiB, peak {watch.peak / 2**20:.0f} MiB")
        else:
            print("app memory: unknown (pass --pid)")
        if args.readme and latencies:
            update_readme("\n".join([
                "| clients × questions | answered | errors | p50 | p95 | max | throughput | app memory idle → peak |",
                "|---|---:|---:|---:|---:|---:|---:|---:|",
                f"| {args.clients} × {args.questions} | {len(latencies)} | {len(errors)} | "
                f"{percentile(latencies, 50):.2f} s"
                f" | {percentile(latencies, 95):.2f} s | {max(latencies):.2f} s | "
                f"{len(latencies) / wall:.1f} answers/s | "
                + (f"{idle / 2**20:.0f} → {watch.peak / 2**20:.0f} MiB |" if watch else "unknown |"),
                "", "Regenerate with `python -m eval.load_app --readme`."]), "<!-- load:start -->", "<!-- load:end -->")
        return 1 if errors or len(latencies) != total else 0
    finally:
        stop_app(proc)


if __name__ == "__main__":
    sys.exit(main())
