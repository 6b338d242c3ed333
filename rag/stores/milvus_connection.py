"""The connection to a Milvus server (standalone, cluster, or Milvus Lite's server process started here).

One client per server and process, reopened once per call when the server went away; errors become
:class:`rag.stores.base.StoreUnavailable` with a reason that never shows a token. See ``rag.stores.milvus``.
"""

from __future__ import annotations

import logging
import os
import threading
from dataclasses import dataclass
from pathlib import Path

from rag.settings import store_kind
from rag.stores.base import TOKEN_ENV, StoreUnavailable

try:
    from grpc import RpcError
    from pymilvus import MilvusClient, MilvusException
except ImportError as exc:  # pragma: no cover (exercised only where pymilvus is missing)
    raise ImportError('the Milvus store needs pymilvus and Milvus Lite: pip install "pymilvus<2.6" '
                      '"milvus-lite==2.5.1" "setuptools<80"') from exc

log = logging.getLogger("rag")


@dataclass(frozen=True)
class Target:
    """Where the Milvus server is: ``uri`` for the client, ``shown`` for messages (never a token)."""

    uri: str
    lite: bool
    shown: str


def parse_target(store: str) -> Target:
    """The server a ``Settings.store`` value names (see ``rag.stores.registry``)."""
    if store_kind(store) != "milvus":
        raise ValueError(f"not a Milvus store: {store!r}")
    if store.startswith("milvus://"):
        rest = store[len("milvus://"):]
        if rest.endswith(".db"):
            return Target(str(Path(rest).expanduser().resolve()), True, store)
        return Target(f"http://{rest}", False, store)
    return Target(store, False, store)


def _reason(exc: Exception) -> str:
    text = str(getattr(exc, "message", "") or exc)
    low = text.lower()
    if "auth" in low or "credential" in low or "permission" in low or "denied" in low:
        return f"credentials refused ({TOKEN_ENV}): {text[:200]}"
    if "connect" in low or "unavailable" in low or "timeout" in low or "deadline" in low:
        return f"does not answer: {text[:200]}"
    return text[:300]


def _lost(exc: Exception) -> bool:
    low = str(exc).lower()
    return any(w in low for w in ("unavailable", "connect", "socket closed", "deadline", "timeout"))


class Connection:
    """One client to one server, reopened (once per call) when the server went away."""

    def __init__(self, target: Target, timeout: float) -> None:
        self.target = target
        self.timeout = timeout
        # pymilvus bounds its retries by ``timeout`` only when it is an int (a float means 75 retries, minutes)
        self._seconds = max(1, int(round(timeout)))
        self._lock = threading.Lock()
        self._client = self._open()

    def _open(self):
        try:
            if self.target.lite:
                Path(self.target.uri).parent.mkdir(parents=True, exist_ok=True)
                client = MilvusClient(self.target.uri)
            else:
                client = MilvusClient(self.target.uri, token=os.environ.get(TOKEN_ENV, ""), timeout=self._seconds)
            client.list_collections(timeout=self._seconds)  # it answers, and accepts the credentials
        except (MilvusException, RpcError) as exc:
            raise StoreUnavailable(self.target.shown, _reason(exc)) from None
        except Exception as exc:  # noqa: BLE001 (Milvus Lite: server binary failed to start, file locked, ...)
            hint = " (Milvus Lite serves one process at a time per .db file)" if self.target.lite else ""
            raise StoreUnavailable(self.target.shown, f"cannot start or reach the server: {exc}{hint}") from None
        return client

    def call(self, name: str, *args, retry: bool = True, **kwargs):
        """``client.<name>(*args, **kwargs)``; on a lost server, reconnect and try once more (``retry``)."""
        kwargs.setdefault("timeout", self._seconds)
        try:
            return getattr(self._client, name)(*args, **kwargs)
        except (MilvusException, RpcError) as exc:
            if not (retry and _lost(exc)):
                raise StoreUnavailable(self.target.shown, f"{name}: {_reason(exc)}") from None
            log.warning("milvus: %s lost the server %s; reconnecting", name, self.target.shown)
        self.reconnect()
        try:
            return getattr(self._client, name)(*args, **kwargs)
        except (MilvusException, RpcError) as exc:
            raise StoreUnavailable(self.target.shown, f"{name} after reconnecting: {_reason(exc)}") from None

    def reconnect(self) -> None:
        with self._lock:
            self._release()
            self._client = self._open()
            log.info("milvus: reconnected to %s", self.target.shown)

    def _release(self) -> None:
        try:
            self._client.close()
        except MilvusException as exc:
            log.info("milvus: closing the old client: %s", _reason(exc))
        if self.target.lite:
            from milvus_lite.server_manager import server_manager_instance

            server_manager_instance.release_server(self.target.uri)

    def close(self) -> None:
        with self._lock:
            self._release()


_connections: dict[Target, Connection] = {}
_connections_lock = threading.Lock()


def connect(settings) -> Connection:
    """The process's connection to ``settings.store`` (opened once; Milvus Lite: its server is started)."""
    target = parse_target(settings.store)
    with _connections_lock:
        conn = _connections.get(target)
        if conn is None:
            conn = _connections[target] = Connection(target, settings.milvus_timeout)
        return conn


def disconnect(settings) -> None:
    """Close the process's connection to ``settings.store`` (Milvus Lite: stop its server, free the file)."""
    target = parse_target(settings.store)
    with _connections_lock:
        conn = _connections.pop(target, None)
    if conn is not None:
        conn.close()
