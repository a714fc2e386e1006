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
    gets the usual permissions (subject to the umask), not mkstemp's owner-only ones. A folder
    that does not exist is an error naming the path the caller gave.
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
            raise FileExistsError(f"could not create a temporary file next to {target!r}")
    except (FileNotFoundError, NotADirectoryError) as exc:
        _close(chunks)
        given = os.fsdecode(os.fspath(file))
        raise type(exc)(
            exc.errno or errno.ENOENT,
            f"cannot save to {given!r}: the folder {directory!r} does not exist",
            given,
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


def _close(chunks: Iterable[bytes]) -> None:
    close = getattr(chunks, "close", None)
    if close is not None:
        close()
