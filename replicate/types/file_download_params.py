"""v2's ``replicate.types.file_download_params``, as aliases of :mod:`replicate.types`."""

from . import FileDownloadParams

__all__ = ["FileDownloadParams"]
