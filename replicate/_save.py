"""Writing a download to disk atomically: a file is either whole or not there."""

from __future__ import annotations

import errno
import os
import secrets
from collections.abc import Iterable


def write_atomically(file: str | os.PathLike[str], chunks: Iterable[bytes]) -> None:
    """Write ``chunks`` to a temporary sibling of ``file``, then rename it over ``file``.

    If anything fails (including reading ``chunks``, which is then closed so its connection is
    released) the temporary file is removed and ``file`` is left as it was. The temporary file
    gets the usual permissions (subject to the umask), not mkstemp's owner-only ones. When the
    temporary file cannot be created (no such folder, a part of the path is a file, no
    permission, ...) the error keeps its type and errno but names the path the caller gave and
    says why, never the temporary name.
    """
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
        _close(chunks)
        given = os.fsdecode(os.fspath(file))
        # The same exception type and errno, but about the caller's path, never the temporary name.
        raise type(exc)(
            exc.errno, f"cannot save to {given!r}: {_why(exc, directory)}", given
        ) from None
    except BaseException:
        _close(chunks)
        raise
    try:
        with os.fdopen(fd, "wb") as out:
            for chunk in chunks:
                out.write(chunk)
            out.flush()
            os.fsync(out.fileno())
        os.replace(temp, target)
    except BaseException:
        _close(chunks)
        try:
            os.unlink(temp)
        except OSError:
            pass
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
