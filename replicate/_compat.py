"""Small names the official v2 SDK exports at its top level that belong to no other module here.

``NoneType`` and ``file_from_path`` exist so that v2 code importing them keeps working.
"""

from __future__ import annotations

import os

__all__ = ["NoneType", "file_from_path"]

NoneType = type(None)


def file_from_path(path: str | os.PathLike[str]) -> tuple[str, bytes]:
    """The file at ``path`` as ``(file name, contents)``, for ``files.create(content=...)``.

    As in v2, the file is read whole; pass a :class:`pathlib.Path` as ``content`` instead to
    stream a large file.
    """
    with open(path, "rb") as f:
        contents = f.read()
    return os.path.basename(path), contents
