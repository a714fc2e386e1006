"""v2's ``replicate.types.file_list_response``, as aliases of :mod:`replicate.types`."""

from . import FileChecksums as Checksums
from . import FileListResponse
from . import FileURLs as URLs

__all__ = ["Checksums", "FileListResponse", "URLs"]
