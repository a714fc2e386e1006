"""v2's ``replicate.types.file_get_response``, as aliases of :mod:`replicate.types`."""

from . import FileChecksums as Checksums
from . import FileGetResponse
from . import FileURLs as URLs

__all__ = ["Checksums", "FileGetResponse", "URLs"]
