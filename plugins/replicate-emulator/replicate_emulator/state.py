"""Where the emulator keeps what it was told: JSON documents by kind and key, and blobs.

In memory by default; given a path, in a SQLite file, so that a restarted server keeps its
predictions, models, files and the rest. Both stores are safe to use from many threads. The
memory store keeps the documents themselves (callers must not change a document they were
given without putting it back); the SQLite store keeps their JSON encoding.
"""

from __future__ import annotations

import itertools
import os
import sqlite3
import threading
from typing import Any

import msgspec

__all__ = ["MemoryState", "SQLiteState", "State", "open_state"]

_encode = msgspec.json.Encoder().encode
_decode = msgspec.json.decode


class State:
    """The interface both stores implement.

    Documents are listed in the order they were first put (``seq``), newest first, which is
    the order the API lists predictions, trainings, files and models in.
    """

    def put(self, kind: str, key: str, doc: dict[str, Any]) -> None:
        raise NotImplementedError

    def get(self, kind: str, key: str) -> dict[str, Any] | None:
        raise NotImplementedError

    def delete(self, kind: str, key: str) -> bool:
        raise NotImplementedError

    def list(self, kind: str) -> list[dict[str, Any]]:
        """Every document of a kind, newest first."""
        raise NotImplementedError

    def put_blob(self, key: str, data: bytes) -> None:
        raise NotImplementedError

    def get_blob(self, key: str) -> bytes | None:
        raise NotImplementedError

    def delete_blob(self, key: str) -> bool:
        raise NotImplementedError

    def close(self) -> None:
        pass


class MemoryState(State):
    def __init__(self) -> None:
        self._docs: dict[str, dict[str, tuple[int, dict[str, Any]]]] = {}
        self._blobs: dict[str, bytes] = {}
        self._seq = itertools.count()
        self._lock = threading.Lock()

    def put(self, kind: str, key: str, doc: dict[str, Any]) -> None:
        with self._lock:
            docs = self._docs.setdefault(kind, {})
            old = docs.get(key)
            docs[key] = (old[0] if old else next(self._seq), doc)

    def get(self, kind: str, key: str) -> dict[str, Any] | None:
        entry = self._docs.get(kind, {}).get(key)
        return entry[1] if entry else None

    def delete(self, kind: str, key: str) -> bool:
        with self._lock:
            return self._docs.get(kind, {}).pop(key, None) is not None

    def list(self, kind: str) -> list[dict[str, Any]]:
        with self._lock:
            entries = list(self._docs.get(kind, {}).values())
        entries.sort(key=lambda e: e[0], reverse=True)
        return [doc for _, doc in entries]

    def put_blob(self, key: str, data: bytes) -> None:
        self._blobs[key] = data

    def get_blob(self, key: str) -> bytes | None:
        return self._blobs.get(key)

    def delete_blob(self, key: str) -> bool:
        return self._blobs.pop(key, None) is not None


class SQLiteState(State):
    """One SQLite file; a connection per thread (sqlite3 connections are not shared)."""

    def __init__(self, path: str | os.PathLike[str]) -> None:
        self.path = os.fspath(path)
        self._local = threading.local()
        self._lock = threading.Lock()
        self._connections: list[sqlite3.Connection] = []
        db = self._db()
        with db:
            db.execute(
                "CREATE TABLE IF NOT EXISTS docs (kind TEXT NOT NULL, key TEXT NOT NULL, "
                "seq INTEGER PRIMARY KEY AUTOINCREMENT, doc BLOB NOT NULL, UNIQUE (kind, key))"
            )
            db.execute(
                "CREATE TABLE IF NOT EXISTS blobs (key TEXT PRIMARY KEY, data BLOB NOT NULL)"
            )

    def _db(self) -> sqlite3.Connection:
        db: sqlite3.Connection | None = getattr(self._local, "db", None)
        if db is None:
            db = sqlite3.connect(self.path, timeout=30, check_same_thread=False)
            db.execute("PRAGMA journal_mode=WAL")
            db.execute("PRAGMA synchronous=NORMAL")
            self._local.db = db
            with self._lock:
                self._connections.append(db)
        return db

    def put(self, kind: str, key: str, doc: dict[str, Any]) -> None:
        db = self._db()
        with db:
            db.execute(
                "INSERT INTO docs (kind, key, doc) VALUES (?, ?, ?) "
                "ON CONFLICT (kind, key) DO UPDATE SET doc = excluded.doc",
                (kind, key, _encode(doc)),
            )

    def get(self, kind: str, key: str) -> dict[str, Any] | None:
        row = (
            self._db()
            .execute("SELECT doc FROM docs WHERE kind = ? AND key = ?", (kind, key))
            .fetchone()
        )
        return _decode(row[0]) if row else None

    def delete(self, kind: str, key: str) -> bool:
        db = self._db()
        with db:
            cur = db.execute("DELETE FROM docs WHERE kind = ? AND key = ?", (kind, key))
        return cur.rowcount > 0

    def list(self, kind: str) -> list[dict[str, Any]]:
        rows = self._db().execute("SELECT doc FROM docs WHERE kind = ? ORDER BY seq DESC", (kind,))
        return [_decode(row[0]) for row in rows]

    def put_blob(self, key: str, data: bytes) -> None:
        db = self._db()
        with db:
            db.execute(
                "INSERT OR REPLACE INTO blobs (key, data) VALUES (?, ?)",
                (key, sqlite3.Binary(data)),
            )

    def get_blob(self, key: str) -> bytes | None:
        row = self._db().execute("SELECT data FROM blobs WHERE key = ?", (key,)).fetchone()
        return bytes(row[0]) if row else None

    def delete_blob(self, key: str) -> bool:
        db = self._db()
        with db:
            cur = db.execute("DELETE FROM blobs WHERE key = ?", (key,))
        return cur.rowcount > 0

    def close(self) -> None:
        with self._lock:
            connections, self._connections = self._connections, []
        for db in connections:
            db.close()
        self._local = threading.local()


def open_state(path: str | os.PathLike[str] | None) -> State:
    """A SQLite store at ``path``, or a memory store when it is None."""
    return MemoryState() if path is None else SQLiteState(path)
