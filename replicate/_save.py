"""Writing a download to disk atomically: a file is either whole or not there.

:func:`write_atomically` and :func:`awrite_atomically` take the same steps, through
:class:`_TempSibling`: open a temporary sibling of the target, write each chunk to it, then
rename it over the target once every chunk is in, or remove it if anything failed.

That guards against everything that stops a download (an error, a short body, Ctrl-C, a killed
process). The file is not fsynced before the rename, as pip's and huggingface_hub's downloads
are not: waiting for the disk would cost a large download a third of its speed, and only a
power loss or a crash of the whole system could then leave the renamed file short.
"""

from __future__ import annotations

import errno
import os
import secrets
from collections.abc import AsyncIterable, Iterable
from types import TracebackType


def write_atomically(file: str | os.PathLike[str], chunks: Iterable[bytes]) -> None:
    """Write ``chunks`` to a temporary sibling of ``file``, then rename it over ``file``.

    If anything fails (including reading ``chunks``, which is then closed so its connection is
    released) the temporary file is removed and ``file`` is left as it was. The temporary file
    gets the usual permissions (subject to the umask), not mkstemp's owner-only ones. When the
    temporary file cannot be created (no such folder, a part of the path is a file, no
    permission, ...) the error keeps its type and errno but names the path the caller gave and
    says why, never the temporary name.
    """
    try:
        with _TempSibling(file) as out:
            for chunk in chunks:
                out.write(chunk)
    except BaseException:
        _close(chunks)
        raise


async def awrite_atomically(file: str | os.PathLike[str], chunks: AsyncIterable[bytes]) -> None:
    """:func:`write_atomically` for chunks read with ``async for`` (closed with ``await
    aclose()`` on failure). Only the chunks are awaited: the file is written with plain calls,
    as an async transport reads a request body."""
    try:
        with _TempSibling(file) as out:
            async for chunk in chunks:
                out.write(chunk)
    except BaseException:
        await _aclose(chunks)
        raise


class _TempSibling:
    """A new temporary file beside ``file``: written with ``write``, it replaces ``file`` on
    ``commit()`` (or on leaving a ``with`` block normally) and is removed on ``abort()`` (or
    on leaving one by an exception). Creating it raises as :func:`write_atomically` says."""

    __slots__ = ("_out", "_target", "_temp")

    def __init__(self, file: str | os.PathLike[str]) -> None:
        target = os.path.abspath(os.fsdecode(os.fspath(file)))
        directory, name = os.path.split(target)
        flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_BINARY", 0)
        try:
            for _ in range(100):
                temp = os.path.join(directory, f".{name}.{secrets.token_hex(6)}.part")
                try:
                    fd = os.open(temp, flags, 0o666)
                    break
                except FileExistsError:
                    continue
            else:  # pragma: no cover - 100 collisions of 48 random bits
                raise FileExistsError(errno.EEXIST, "every temporary name tried was taken", temp)
        except OSError as exc:
            given = os.fsdecode(os.fspath(file))
            # The same exception type and errno, but about the caller's path, never the
            # temporary name.
            raise type(exc)(
                exc.errno, f"cannot save to {given!r}: {_why(exc, directory)}", given
            ) from None
        self._target = target
        self._temp = temp
        try:
            self._out = os.fdopen(fd, "wb")
        except BaseException:
            os.close(fd)
            os.unlink(temp)
            raise

    def write(self, chunk: bytes) -> None:
        self._out.write(chunk)

    def commit(self) -> None:
        """Put the written file in the target's place."""
        self._out.close()
        os.replace(self._temp, self._target)

    def abort(self) -> None:
        """Remove the temporary file, leaving the target as it was."""
        try:
            self._out.close()
        except OSError:  # flushing what was buffered failed: it is thrown away anyway
            pass
        try:
            os.unlink(self._temp)
        except OSError:
            pass

    def __enter__(self) -> _TempSibling:
        return self

    def __exit__(
        self,
        kind: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        if kind is not None:
            self.abort()
            return
        try:
            self.commit()
        except BaseException:
            self.abort()
            raise


def _why(exc: OSError, directory: str) -> str:
    """Why no file could be created in ``directory``, in the caller's terms."""
    if exc.errno == errno.ENOENT:
        return f"the folder {directory!r} does not exist"
    if exc.errno == errno.ENOTDIR:
        return f"{_not_a_folder(directory)!r} is not a folder"
    if exc.errno in (errno.EACCES, errno.EPERM):
        return f"no permission to create a file in the folder {directory!r}"
    reason = exc.strerror or (os.strerror(exc.errno) if exc.errno else type(exc).__name__)
    return f"cannot create a file in the folder {directory!r}: {reason}"


def _not_a_folder(directory: str) -> str:
    """The first part of ``directory`` that exists but is not a folder (else ``directory``)."""
    path = directory
    parents = []
    while True:
        parents.append(path)
        parent = os.path.dirname(path)
        if parent == path:
            break
        path = parent
    for path in reversed(parents):
        if os.path.lexists(path) and not os.path.isdir(path):
            return path
    return directory


def _close(chunks: Iterable[bytes]) -> None:
    close = getattr(chunks, "close", None)
    if close is not None:
        close()


async def _aclose(chunks: AsyncIterable[bytes]) -> None:
    aclose = getattr(chunks, "aclose", None)
    if aclose is not None:
        await aclose()
