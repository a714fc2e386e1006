"""v2's ``replicate.types.file_create_response``, as aliases of :mod:`replicate.types`."""

from . import FileChecksums as Checksums
from . import FileCreateResponse
from . import FileURLs as URLs

__all__ = ["Checksums", "FileCreateResponse", "URLs"]
