"""v2's ``replicate.types.hardware_list_response``, as aliases of :mod:`replicate.types`."""

from . import (
    HardwareListResponse,
    HardwareListResponseItem,
)

__all__ = ["HardwareListResponse", "HardwareListResponseItem"]
