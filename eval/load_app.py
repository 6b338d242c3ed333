"""Load check of the web app (a benchmark, not a timed test).

    python -m eval.load_app                    # starts `python app.py` on a free port (real corpus)
    python -m eval.load_app --url http://127.0.0.1:7860/ [--pid 1234]

N concurrent clients (default 20) each ask M questions (default 10) through the `search` endpoint, each client
a session of its own, as a browser tab is; every request must succeed. Prints p50/p95/max latency, throughput, the
CPU time the app and this script spent, and the app's peak resident memory (psutil, the app process and its
children, sampled every 50 ms). Exits 1 if any request failed.

Clients (``--client``): ``http`` (default) speaks Gradio's HTTP API as ``curl`` would (``POST
/gradio_api/call/search``, then the event stream of its result), all clients in one asyncio loop; ``gradio`` uses
``gradio_client``, a thread per client; ``both`` runs one then the other, each on questions the app was not asked
before. The clients run on the app's machine: ``gradio_client`` spends about 70 ms of CPU per request where the app
spends about 40, so on two cores it takes much of them from the app it measures; the HTTP client spends about 8 ms.
First ``--warm`` other questions are asked, untimed, as a running app has been asked others.
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


def timed_run(kind: str, url: str, pid: int | None, batches: list[list[str]], k: int) -> dict:
    """One timed run of ``len(batches)`` clients of ``kind``: latencies, errors, wall time, the CPU seconds of the
    app and of this process."""
    clients = []
    if kind == "gradio":
        # the clients connect first, one after the other (each reads the app's API description): twenty doing so at
        # once while others already ask timed out waiting for the app, which is not what is measured
        from gradio_client import Client

        clients = [Client(url, verbose=False) for _ in batches]
    print(f"{len(batches)} clients x {len(batches[0])} questions ({kind}) ...", flush=True)
    app_cpu, own_cpu = _app_cpu_seconds(pid), _cpu_seconds()
    start = time.perf_counter()
    if kind == "gradio":
        with ThreadPoolExecutor(len(batches)) as pool:
            results = list(pool.map(lambda cb: run_gradio_client(*cb, k), zip(clients, batches)))
    else:
        results = asyncio.run(_http_clients(url, batches, k))
    wall = time.perf_counter() - start
    app_after = _app_cpu_seconds(pid)
    return {"latencies": [x for lat, _ in results for x in lat], "errors": [e for _, errs in results for e in errs],
            "wall": wall, "own_cpu": _cpu_seconds() - own_cpu,
            "app_cpu": app_after - app_cpu if app_cpu is not None and app_after is not None else None}


def report(fig: dict, kind: str, clients: int, per_client: int, watch, idle: int) -> str:
    """Print a run's figures; its row of the table."""
    latencies, errors, wall, total = fig["latencies"], fig["errors"], fig["wall"], clients * per_client
    print(f"requests: {total}, answered: {len(latencies)}, errors: {len(errors)}")
    for e in errors[:10]:
        print("  error:", e)
    if not latencies:
        return ""
    p50, p95 = percentile(latencies, 50), percentile(latencies, 95)
    print(f"latency: p50 {p50:.2f} s, p95 {p95:.2f} s, max {max(latencies):.2f} s, "
          f"mean {statistics.mean(latencies):.2f} s")
    print(f"wall time {wall:.1f} s, throughput {len(latencies) / wall:.1f} answers/s")
    per_answer = f"{1000 * fig['app_cpu'] / len(latencies):.0f} ms" if fig["app_cpu"] is not None else "unknown"
    per_request = f"{1000 * fig['own_cpu'] / total:.0f} ms"
    print(f"CPU: the app {per_answer} per answer, these clients {per_request} per request")
    memory = f"{idle / 2**20:.0f} → {watch.peak / 2**20:.0f} MiB" if watch else "unknown"
    print(f"app memory (RSS, process tree): idle → peak so far {memory}" if watch else
          "app memory: unknown (pass --pid)")
    return (f"| {clients} × {per_client} | {kind} | {len(latencies)} | {len(errors)} | {p50:.2f} s | {p95:.2f} s | "
            f"{max(latencies):.2f} s | {len(latencies) / wall:.1f} answers/s | {per_answer} | {per_request} | "
            f"{memory} |")


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
    ap.add_argument("--client", choices=("http", "gradio", "both"), default="http",
                    help="Gradio's HTTP API from one asyncio loop (default), a gradio_client per thread, or one run "
                         "of each")
    ap.add_argument("--startup-timeout", type=float, default=900)
    ap.add_argument("--readme", action="store_true",
                    help="also put the figures into docs/performance.md, between <!-- load:start --> and "
                         "<!-- load:end -->")
    args = ap.parse_args(argv)

    url, proc, pid = app_target(args.url, args.pid, "load_app.log")
    try:
        wait_ready(url, proc, args.startup_timeout)
        watch, idle = (MemoryWatch(pid) if pid else None), 0
        if watch:
            watch.start()
            time.sleep(0.2)
            idle = watch.rss()
        kinds = ("http", "gradio") if args.client == "both" else (args.client,)
        n = args.clients * args.questions
        qs = questions(n * len(kinds) + args.warm)  # each client kind asks questions the app was not asked yet
        warm = qs[n * len(kinds):]
        if warm:
            print(f"{len(warm)} questions first, not timed ...", flush=True)
            warm_errors = asyncio.run(_http_clients(url, [warm], args.k))[0][1]
            if warm_errors:
                raise SystemExit(f"the app failed while warming up: {warm_errors[0]}")
        rows, failed = [], False
        for i, kind in enumerate(kinds):
            mine = qs[i * n:(i + 1) * n]
            batches = [mine[j * args.questions:(j + 1) * args.questions] for j in range(args.clients)]
            fig = timed_run(kind, url, pid, batches, args.k)
            failed |= bool(fig["errors"]) or len(fig["latencies"]) != n
            rows.append(report(fig, kind, args.clients, args.questions, watch, idle))
        if watch:
            watch.stop.set()
            watch.join()
        if args.readme and not failed:
            update_readme("\n".join([
                "| clients × questions | client | answered | errors | p50 | p95 | max | throughput "
                "| app CPU per answer | clients' CPU per request | app memory idle → peak |",
                "|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|", *rows,
                "", f"Regenerate with `python -m eval.load_app --client {args.client} --readme` ({args.warm} other "
                    "questions asked first, untimed; each client kind asks questions the app was not asked before)."]),
                "<!-- load:start -->", "<!-- load:end -->")
        return 1 if failed else 0
    finally:
        stop_app(proc)


if __name__ == "__main__":
    sys.exit(main())
