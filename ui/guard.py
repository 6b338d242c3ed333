"""What stands between a public visitor and the app's engine: an ASGI middleware and a fair queue.

Gradio serves the app; :class:`Guard` wraps Gradio's own FastAPI application (installed through
``launch(app_kwargs={"middleware": [...]})``) and, before Gradio sees a request:

* refuses a body larger than ``max_body`` bytes (uploads: ``max_upload``) with **413**, from its
  ``Content-Length`` or while it is read, so a 56 MB list of ids is never parsed;
* refuses an upload while Gradio's temp folder already holds ``temp_budget`` bytes (**507**), or while the files
  the same client address uploaded there and no event has used yet (an upload event deletes Gradio's copy; the
  cache deletes what nothing used after 15 minutes) hold its share, ``Limits.temp_share`` (**429**): one visitor
  cannot fill the folder for the others;
* on the routes that queue a run (``/gradio_api/queue/join``, ``/gradio_api/call/…``), reads the JSON body
  (a body that is not JSON, or nested too deep, is a **400**), asks the handler's check function about its
  inputs and refuses invalid ones with **422** in Gradio's own validation format (``gradio_client`` raises
  ``ValidationError`` with the French message) — before anything is queued;
* refuses a run when the same browser session already has ``per_session`` runs queued or running, or the
  same address ``per_ip`` (**429**, « trop de requêtes en attente »);
* serves ``GET /corpus-file/<document id>``: the original file of an indexed document, found by its id in
  the index (never by a path the client sends), read from the corpus folder only, as an attachment
  (``routes.files``; 404 for anything else);
* adds security headers to every response (a Content-Security-Policy that Gradio's page and the app's own
  script and style satisfy, ``frame-ancestors`` allowing Hugging Face's embedding, ``nosniff``).

:func:`fair_queue` makes Gradio's queue serve the lightest clients first: a visitor who asks now and then
goes ahead of a client sending question after question, and a session's second run waits behind other
sessions' first ones.

The client address is the socket's peer, unless the operator says how many proxies in front of the app are
trusted (``Limits.trusted_proxies``, ``RAG_APP_TRUSTED_PROXIES``; 1 by default on a Hugging Face Space, whose proxy
adds the visitor's address): then it is the address the farthest trusted proxy saw, read from the right of
``X-Forwarded-For``. The addresses on the left are written by the client and never trusted.
"""

from __future__ import annotations

import asyncio
import json
import logging
import os
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable
from urllib.parse import quote

log = logging.getLogger("app")

MSG_TOO_LARGE = "Requête trop grande : {limit} octets au plus."
MSG_TOO_MANY = ("Trop de requêtes en attente pour ce client : {n} au plus à la fois. "
                "Attendez la réponse à la précédente (too many requests waiting).")
MSG_BAD_JSON = "Corps de requête illisible : JSON valide attendu."
MSG_TEMP_FULL = "Le dossier temporaire du serveur est plein ; réessayez plus tard."
MSG_TEMP_SHARE = ("Vos fichiers envoyés occupent déjà votre part du dossier temporaire du serveur ({mb} Mo) ; "
                  "attendez qu'ils soient lus, ou réessayez dans quelques minutes.")

# Gradio's page runs inline scripts (its config) and the app's script through Function(); its styles are
# inline. Everything else comes from the app itself; images from the app or data: URIs.
CSP = ("default-src 'self'; script-src 'self' 'unsafe-inline' 'unsafe-eval'; style-src 'self' 'unsafe-inline'; "
       "img-src 'self' data: blob:; font-src 'self' data:; connect-src 'self'; media-src 'self' blob:; "
       "worker-src 'self' blob:; object-src 'none'; base-uri 'self'; form-action 'self'; "
       "frame-ancestors 'self' https://huggingface.co https://*.huggingface.co https://*.hf.space")
HEADERS = [
    (b"content-security-policy", CSP.encode()),
    (b"x-content-type-options", b"nosniff"),
    (b"referrer-policy", b"strict-origin-when-cross-origin"),
    (b"permissions-policy", b"camera=(), microphone=(), geolocation=()"),
]
QUEUED = ("/gradio_api/queue/join", "/gradio_api/call/")
FILES = "/corpus-file/"
CONTENT_TYPES = {"pdf": "application/pdf",
                 "docx": "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
                 "txt": "text/plain; charset=utf-8", "md": "text/markdown; charset=utf-8"}
JSON_DEPTH = 32

Check = Callable[[list], "tuple[str, str] | None"]  # inputs -> (parameter name, French message) or None


class Refusal(Exception):
    def __init__(self, status: int, detail) -> None:
        super().__init__(str(detail))
        self.status, self.detail = status, detail


@dataclass(frozen=True)
class Limits:
    """The guard's limits (the app reads them from ``RAG_APP_*`` variables)."""

    max_body: int = 64 * 1024
    max_upload: int = 1024 * 1024
    temp_budget: int = 256 * 1024 * 1024
    per_session: int = 2
    per_ip: int = 8  # 0: no limit per address
    trusted_proxies: int = 0  # proxies in front of the app whose X-Forwarded-For entries are trusted

    @property
    def temp_share(self) -> int:
        """What one client address may hold in Gradio's temp folder: a quarter of ``temp_budget``, at least one
        upload request."""
        return max(self.temp_budget // 4, self.max_upload)


@dataclass
class Routes:
    """How the guard finds, for a queued request, the handler's check function and its parameter names."""

    blocks: object = None  # the gr.Blocks, set once built
    groups: tuple[str, ...] | None = None  # the concurrency groups whose runs are capped per client, each on its own
    # (None: every run, counted together)
    checks: dict = field(default_factory=dict)  # handler -> Check
    names: dict = field(default_factory=dict)  # handler -> parameter names (for /call/v2 bodies)
    files: Callable | None = None  # document id -> (file name, bytes) or None: the originals served at FILES

    def fn(self, path: str, body: dict):
        fns = getattr(self.blocks, "fns", {})
        if path.startswith("/gradio_api/call/"):
            name = path[len("/gradio_api/call/"):].strip("/")
            name = name[3:] if name.startswith("v2/") else name
            return next((f for f in fns.values() if f.api_name == name), None)
        index = body.get("fn_index")
        return fns.get(index) if isinstance(index, int) and not isinstance(index, bool) else None


def take_proxy_trust() -> None:
    """Make ``Limits.trusted_proxies`` the only trust in ``X-Forwarded-For``: uvicorn, under Gradio, otherwise
    replaces the socket's peer by that header's address on every connection from 127.0.0.1 (which any local
    client writes). An operator's own ``FORWARDED_ALLOW_IPS`` is kept. Call before the server starts."""
    os.environ.setdefault("FORWARDED_ALLOW_IPS", "")


def client_ip(headers: dict[str, str], peer, trusted_proxies: int = 0) -> str:
    """The client's address: with ``trusted_proxies`` proxies in front of the app, the ``trusted_proxies``-th
    address from the right of ``X-Forwarded-For`` (each proxy appends the address it received the request from);
    with none, or fewer addresses than proxies, the socket's peer."""
    if trusted_proxies > 0:
        hops = [h.strip() for h in headers.get("x-forwarded-for", "").split(",") if h.strip()]
        if len(hops) >= trusted_proxies:
            return hops[-trusted_proxies]
    return peer[0] if peer else "?"


def request_ip(request, trusted_proxies: int = 0) -> str:
    """:func:`client_ip` of a request object (Starlette's, or Gradio's ``gr.Request``): its headers and peer."""
    client = getattr(request, "client", None)
    headers = {k.lower(): v for k, v in getattr(request, "headers", {}).items()}
    return client_ip(headers, (client.host, client.port) if client else None, trusted_proxies)


def _depth(value, limit: int) -> bool:
    """True when ``value`` nests no deeper than ``limit`` (iteratively: a deep value cannot blow the stack)."""
    stack = [(value, 0)]
    while stack:
        v, d = stack.pop()
        if d > limit:
            return False
        if isinstance(v, dict):
            stack.extend((x, d + 1) for x in v.values())
        elif isinstance(v, list):
            stack.extend((x, d + 1) for x in v)
    return True


def temp_usage(folder: Path) -> int:
    total = 0
    for dirpath, _, files in os.walk(folder):
        for name in files:
            try:
                total += os.lstat(os.path.join(dirpath, name)).st_size
            except OSError:
                pass
    return total


class Guard:
    """ASGI middleware; see the module docstring."""

    def __init__(self, app, routes: Routes, limits: Limits | None = None, temp_dir: str | None = None) -> None:
        self.app = app
        self.routes = routes
        self.limits = limits or Limits()
        self.temp_dir = Path(temp_dir) if temp_dir else None
        self._lock = asyncio.Lock()
        self._joining: dict[str, int] = {}
        self._uploaded: dict[str, list[str]] = {}  # client address -> the files its uploads left in the temp folder
        self._uploading: dict[str, int] = {}  # client address -> bytes of its uploads under way

    async def __call__(self, scope, receive, send):
        if scope["type"] != "http":
            return await self.app(scope, receive, send)

        async def send_with_headers(message):
            if message["type"] == "http.response.start":
                names = {k.lower() for k, _ in message.get("headers", [])}
                message = dict(message, headers=list(message.get("headers", []))
                               + [(k, v) for k, v in HEADERS if k not in names])
            await send(message)

        try:
            await self._handle(scope, receive, send_with_headers)
        except Refusal as r:
            await _respond(send_with_headers, r.status, r.detail)

    async def _handle(self, scope, receive, send):
        path = scope.get("path", "")
        method = scope.get("method", "GET")
        if path.startswith(FILES) and self.routes.files is not None:
            if method not in ("GET", "HEAD"):
                raise Refusal(405, "Méthode non permise.")
            found = await asyncio.to_thread(self.routes.files, path[len(FILES):])
            return await _send_file(send, found, method == "HEAD")
        if method not in ("POST", "PUT", "PATCH"):
            return await self.app(scope, receive, send)
        headers = {k.decode("latin-1").lower(): v.decode("latin-1") for k, v in scope.get("headers", [])}
        upload = path.rstrip("/").endswith("/upload")
        limit = self.limits.max_upload if upload else self.limits.max_body
        length = headers.get("content-length")
        if length is not None and (not length.isdigit() or int(length) > limit):
            raise Refusal(413, MSG_TOO_LARGE.format(limit=limit))
        if upload:
            if length is None:
                raise Refusal(411, "Content-Length requis pour un envoi de fichier.")
            ip = client_ip(headers, scope.get("client"), self.limits.trusted_proxies)
            return await self._upload(scope, receive, send, ip, int(length))
        body = await _read(receive, limit)
        replay = _replayer(body, receive)
        if not path.startswith(QUEUED):
            return await self.app(scope, replay, send)
        try:
            data = json.loads(body or b"{}")
        except (ValueError, RecursionError):
            raise Refusal(400, MSG_BAD_JSON) from None
        if not isinstance(data, dict) or not _depth(data, JSON_DEPTH):
            raise Refusal(400, MSG_BAD_JSON)
        fn = self.routes.fn(path, data)
        if fn is not None:
            self._validate(fn, path, data)
        group = getattr(fn, "concurrency_id", None)
        if self.routes.groups is not None and group not in self.routes.groups:
            return await self.app(scope, replay, send)
        session = data.get("session_hash") if isinstance(data.get("session_hash"), str) else None
        ip = client_ip(headers, scope.get("client"), self.limits.trusted_proxies)
        keys = [f"{group}:ip:{ip}"] + ([f"{group}:session:{session}"] if session else [])
        async with self._lock:  # count and admit atomically
            self._admit(group, session, ip)
            for k in keys:
                self._joining[k] = self._joining.get(k, 0) + 1
        try:
            return await self.app(scope, replay, send)
        finally:
            for k in keys:
                self._joining[k] -= 1
                if not self._joining[k]:
                    del self._joining[k]

    async def _upload(self, scope, receive, send, ip: str, length: int):
        """Gradio's upload route, within the temp folder's budget and the client's share of it; the paths Gradio
        answers are kept under the client's address, and count against it while the files exist."""
        async with self._lock:
            if len(self._uploaded) > 1000:  # forget the addresses whose files are gone
                for other in list(self._uploaded):
                    self._held(other)
            held = await asyncio.to_thread(self._held, ip)
            if held + self._uploading.get(ip, 0) + length > self.limits.temp_share:
                raise Refusal(429, MSG_TEMP_SHARE.format(mb=self.limits.temp_share // (1024 * 1024)))
            if self.temp_dir and await asyncio.to_thread(temp_usage, self.temp_dir) + length > self.limits.temp_budget:
                raise Refusal(507, MSG_TEMP_FULL)
            self._uploading[ip] = self._uploading.get(ip, 0) + length
        answer: list[bytes] = []

        async def keep_answer(message):
            if message["type"] == "http.response.body":
                answer.append(message.get("body", b""))
            await send(message)

        try:
            return await self.app(scope, receive, keep_answer)
        finally:
            self._uploading[ip] -= length
            if not self._uploading[ip]:
                del self._uploading[ip]
            try:
                paths = json.loads(b"".join(answer) or b"null")
            except ValueError:
                paths = None
            if isinstance(paths, list):
                self._uploaded.setdefault(ip, []).extend(p for p in paths if isinstance(p, str))

    def _held(self, ip: str) -> int:
        """Bytes of the files ``ip`` uploaded that are still in the temp folder (the others are forgotten)."""
        total, kept = 0, []
        for path in self._uploaded.get(ip, []):
            try:
                total += os.lstat(path).st_size
                kept.append(path)
            except OSError:
                pass
        if kept:
            self._uploaded[ip] = kept
        else:
            self._uploaded.pop(ip, None)
        return total

    def _validate(self, fn, path: str, data: dict) -> None:
        check = self.routes.checks.get(fn.fn)
        if check is None:
            return
        values = data.get("data", [])
        if "/call/v2/" in path:
            names = self.routes.names.get(fn.fn, [])
            values = [data.get(n) for n in names]
        if not isinstance(values, list):
            raise Refusal(400, MSG_BAD_JSON)
        n = len(fn.inputs) if getattr(fn, "inputs", None) else len(values)
        values = (values + [None] * n)[:n] if len(values) != n else values
        problem = check(values)
        if problem is not None:
            name, message = problem
            names = self.routes.names.get(fn.fn) or [f"parameter_{i}" for i in range(n)]
            detail = [{"__type__": "validate", "is_valid": nm != name, "message": message if nm == name else "",
                       "parameter_name": nm} for nm in names[:n]]
            raise Refusal(422, detail)

    def _admit(self, group: str | None, session: str | None, ip: str) -> None:
        """Refuse (429) a run past a client's caps within ``group`` (all runs, when groups are not told apart)."""
        queue = getattr(self.routes.blocks, "_queue", None)
        events = [e for e in getattr(queue, "event_ids_to_events", {}).values()
                  if self.routes.groups is None or e.concurrency_id == group]
        lim = self.limits
        if session and lim.per_session:
            mine = sum(e.session_hash == session for e in events) + self._joining.get(f"{group}:session:{session}", 0)
            if mine >= lim.per_session:
                raise Refusal(429, MSG_TOO_MANY.format(n=lim.per_session))
        if lim.per_ip:
            same = sum(request_ip(e.request, lim.trusted_proxies) == ip for e in events
                       if getattr(e, "request", None) is not None)
            if same + self._joining.get(f"{group}:ip:{ip}", 0) >= lim.per_ip:
                raise Refusal(429, MSG_TOO_MANY.format(n=lim.per_ip))


async def _read(receive, limit: int) -> bytes:
    chunks, size = [], 0
    while True:
        message = await receive()
        if message["type"] == "http.disconnect":
            raise Refusal(400, "Requête interrompue.")
        chunk = message.get("body", b"")
        size += len(chunk)
        if size > limit:
            raise Refusal(413, MSG_TOO_LARGE.format(limit=limit))
        chunks.append(chunk)
        if not message.get("more_body"):
            return b"".join(chunks)


def _replayer(body: bytes, receive):
    sent = False

    async def replay():
        nonlocal sent
        if not sent:
            sent = True
            return {"type": "http.request", "body": body, "more_body": False}
        return await receive()

    return replay


async def _send_file(send, found: tuple[str, bytes] | None, head: bool = False) -> None:
    """An original file as a download (``attachment``: never rendered on the app's origin), or 404."""
    if found is None:
        return await _respond(send, 404, "Fichier introuvable.")
    name, data = found
    kind = name.rsplit(".", 1)[-1].lower() if "." in name else ""
    fallback = "".join(c if c.isascii() and (c.isalnum() or c in "._-") else "_" for c in name)
    disposition = f"attachment; filename=\"{fallback}\"; filename*=UTF-8''{quote(name, safe='')}"
    await send({"type": "http.response.start", "status": 200,
                "headers": [(b"content-type", CONTENT_TYPES.get(kind, "application/octet-stream").encode()),
                            (b"content-disposition", disposition.encode("latin-1")),
                            (b"content-length", str(len(data)).encode()),
                            (b"cache-control", b"no-store")]})
    await send({"type": "http.response.body", "body": b"" if head else data})


async def _respond(send, status: int, detail) -> None:
    payload = json.dumps({"detail": detail}, ensure_ascii=False).encode("utf-8")
    await send({"type": "http.response.start", "status": status,
                "headers": [(b"content-type", b"application/json; charset=utf-8"),
                            (b"content-length", str(len(payload)).encode())]})
    await send({"type": "http.response.body", "body": payload})


USAGE_HALF_LIFE = 30.0  # seconds: how fast a client's past runs stop counting against it


def fair_queue(blocks) -> None:
    """Serve the lightest clients of ``blocks``'s queue first.

    Each browser session (``session_hash``) has a usage: the runs it was admitted, each counting less as it
    ages (half-life ``USAGE_HALF_LIFE``). Waiting runs are served by increasing usage of their session, then
    in arrival order: a visitor asking now and then goes ahead of a client that sends question after
    question, and a session's second run goes after other sessions' first ones. The order between two
    sessions does not drift while they wait (both usages decay alike).
    """
    queue = blocks._queue
    push = queue.push
    usage: dict[str, tuple[float, float]] = {}  # session -> (usage, when it was last updated)

    def used(session: str, now: float) -> float:
        value, when = usage.get(session, (0.0, now))
        return value * 0.5 ** ((now - when) / USAGE_HALF_LIFE)

    async def fair_push(body, request, username):
        result = await push(body=body, request=request, username=username)
        if not result[0]:
            return result
        now = time.monotonic()
        session = body.session_hash
        usage[session] = (used(session, now) + 1.0, now)
        if len(usage) > 10_000:  # forget sessions whose usage has decayed away
            for s in [s for s in usage if used(s, now) < 0.01]:
                del usage[s]
        for event_queue in queue.event_queue_per_concurrency_id.values():
            waiting = event_queue.queue
            if len(waiting) > 1:
                order = sorted(range(len(waiting)), key=lambda i: (used(waiting[i].session_hash, now), i))
                waiting[:] = [waiting[i] for i in order]
        return result

    queue.push = fair_push
