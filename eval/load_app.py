"""Load check of the web app (a benchmark, not a timed test).

    python -m eval.load_app                    # starts `python app.py` on a free port (real corpus)
    python -m eval.load_app --url http://127.0.0.1:7860/ [--pid 1234]

N concurrent clients (default 20) each ask M questions (default 10) through the `search` endpoint, each client
a session of its own, as a browser tab is; every request must succeed. Prints p50/p95/max latency, throughput, the
CPU time the app and this script spent, and the app's peak resident memory (psutil, the app process and its
children, sampled every 50 ms). Exits 1 if any request failed.

Clients (``--client``): ``http`` (default) speaks Gradio's HTTP API as ``curl`` would (``POST
/gradio_api/call/search``, then the event stream of its result), all clients in one asyncio loop; ``gradio``
uses ``gradio_client``, a thread per client. Both run on the app's machine: ``gradio_client`` spends about 75 ms
of CPU per request where the app spends 20 to 50, so on two cores it takes most of them from the app it measures;
the HTTP client spends about 11 ms.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import resource
import statistics
import sys
import time
import uuid
from concurrent.futures import ThreadPoolExecutor

from .common import MemoryWatch, app_target, percentile, questions, stop_app, update_readme, wait_ready


def _checked(result) -> None:
    if not isinstance(result, dict) or "passages" not in result:
        raise ValueError(f"unexpected result {str(result)[:100]}")


def run_gradio_client(client, qs: list[str], k: int) -> tuple[list[float], list[str]]:
    """One ``gradio_client`` client asking ``qs`` in turn: (latencies, errors)."""
    latencies, errors = [], []
    for q in qs:
        t0 = time.perf_counter()
        try:
            _checked(client.predict(q, k, "hybrid", None, api_name="/search"))
            latencies.append(time.perf_counter() - t0)
        except Exception as exc:  # noqa: BLE001 (a load test counts every failure)
            errors.append(f"{q[:40]!r}: {exc.__class__.__name__}: {exc}")
    return latencies, errors


async def _ask_http(client, url: str, question: str, k: int, session: str) -> None:
    """One question through Gradio's HTTP API: queue it, then read its event stream to the result."""
    r = await client.post(f"{url}gradio_api/call/search",
                          json={"data": [question, k, "hybrid", None], "session_hash": session})
    r.raise_for_status()
    event = ""
    async with client.stream("GET", f"{url}gradio_api/call/search/{r.json()['event_id']}") as stream:
        stream.raise_for_status()
        async for line in stream.aiter_lines():
            if line.startswith("event:"):
                event = line[len("event:"):].strip()
            elif line.startswith("data:") and event in ("complete", "error"):
                data = json.loads(line[len("data:"):])
                if event == "error":
                    raise ValueError(f"error event: {str(data)[:100]}")
                _checked(data[0] if isinstance(data, list) and data else data)
                return
    raise ValueError("the event stream ended without a result")


async def _http_clients(url: str, batches: list[list[str]], k: int) -> list[tuple[list[float], list[str]]]:
    import httpx

    async def one(qs: list[str]) -> tuple[list[float], list[str]]:
        latencies, errors, session = [], [], uuid.uuid4().hex
        async with httpx.AsyncClient(timeout=120) as client:
            for q in qs:
                t0 = time.perf_counter()
                try:
                    await _ask_http(client, url, q, k, session)
                    latencies.append(time.perf_counter() - t0)
                except Exception as exc:  # noqa: BLE001 (a load test counts every failure)
                    errors.append(f"{q[:40]!r}: {exc.__class__.__name__}: {exc}")
        return latencies, errors

    return list(await asyncio.gather(*(one(b) for b in batches)))


def _cpu_seconds() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def _app_cpu_seconds(pid: int | None) -> float | None:
    import psutil

    try:
        times = psutil.Process(pid).cpu_times() if pid else None
    except psutil.Error:
        return None
    return times.user + times.system if times else None


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--url", help="a running app on localhost; default: start `python app.py` on a free port")
    ap.add_argument("--pid", type=int, help="the running app's process id, for its memory (with --url)")
    ap.add_argument("--clients", type=int, default=20)
    ap.add_argument("--questions", type=int, default=10, help="questions per client")
    ap.add_argument("-k", type=int, default=5)
    ap.add_argument("--warm", type=int, default=100,
                    help="questions asked first, one at a time and not timed, as a running app has been asked others "
                         "(the test set's next ones after the timed questions)")
    ap.add_argument("--client", choices=("http", "gradio"), default="http",
                    help="Gradio's HTTP API from one asyncio loop (default), or a gradio_client per thread")
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
        qs = questions(args.clients * args.questions + args.warm)
        qs, warm = qs[:args.clients * args.questions], qs[args.clients * args.questions:]
        if warm:
            print(f"{len(warm)} questions first, not timed ...", flush=True)
            warm_errors = asyncio.run(_http_clients(url, [warm], args.k))[0][1]
            if warm_errors:
                raise SystemExit(f"the app failed while warming up: {warm_errors[0]}")
        batches = [qs[i * args.questions:(i + 1) * args.questions] for i in range(args.clients)]
        if args.client == "gradio":
            # the clients connect first, one after the other (each reads the app's API description): twenty doing
            # so at once while others already ask timed out waiting for the app, which is not what is measured
            from gradio_client import Client

            clients = [Client(url, verbose=False) for _ in range(args.clients)]
        print(f"{args.clients} clients x {args.questions} questions ({args.client}) ...", flush=True)
        app_cpu, own_cpu = _app_cpu_seconds(pid), _cpu_seconds()
        start = time.perf_counter()
        if args.client == "gradio":
            with ThreadPoolExecutor(args.clients) as pool:
                results = list(pool.map(lambda cb: run_gradio_client(*cb, args.k), zip(clients, batches)))
        else:
            results = asyncio.run(_http_clients(url, batches, args.k))
        wall = time.perf_counter() - start
        own_cpu = _cpu_seconds() - own_cpu
        app_after = _app_cpu_seconds(pid)
        app_cpu = app_after - app_cpu if app_cpu is not None and app_after is not None else None
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
        per_answer = f"{1000 * app_cpu / len(latencies):.0f} ms" if app_cpu is not None and latencies else "unknown"
        print(f"CPU: the app {app_cpu if app_cpu is not None else float('nan'):.1f} s ({per_answer} per answer), "
              f"these clients {own_cpu:.1f} s ({1000 * own_cpu / max(1, total):.0f} ms per request)")
        if watch:
            print(f"app memory (RSS, process tree): idle {idle / 2**20:.0f} MiB, peak {watch.peak / 2**20:.0f} MiB")
        else:
            print("app memory: unknown (pass --pid)")
        if args.readme and latencies:
            update_readme("\n".join([
                "| clients × questions | client | answered | errors | p50 | p95 | max | throughput "
                "| app CPU per answer | clients' CPU per request | app memory idle → peak |",
                "|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|",
                f"| {args.clients} × {args.questions} | {args.client} | {len(latencies)} | {len(errors)} | "
                f"{percentile(latencies, 50):.2f} s"
                f" | {percentile(latencies, 95):.2f} s | {max(latencies):.2f} s | "
                f"{len(latencies) / wall:.1f} answers/s | {per_answer} | {1000 * own_cpu / max(1, total):.0f} ms | "
                + (f"{idle / 2**20:.0f} → {watch.peak / 2**20:.0f} MiB |" if watch else "unknown |"),
                "", "Regenerate with `python -m eval.load_app --readme` (`--client gradio`: gradio_client; "
                    f"{args.warm} other questions asked first)."]), "<!-- load:start -->", "<!-- load:end -->")
        return 1 if errors or len(latencies) != total else 0
    finally:
        stop_app(proc)


if __name__ == "__main__":
    sys.exit(main())
