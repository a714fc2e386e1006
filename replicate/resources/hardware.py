"""``client.hardware``: the hardware SKUs models and deployments can run on."""

from __future__ import annotations

from typing import TYPE_CHECKING

from ..types import Hardware
from ._base import Resource, check_options

if TYPE_CHECKING:
    from typing_extensions import Unpack

    from ._base import RequestOptions


class HardwareResource(Resource):
    """Hardware: ``GET /hardware``."""

    __slots__ = ()

    def list(self, **options: Unpack[RequestOptions]) -> list[Hardware]:
        """Every hardware option (``name`` and the ``sku`` to pass as ``hardware=``). The API
        returns a bare JSON array, not a page."""
        check_options("list", options)
        return self._get("/hardware", list[Hardware], options)  # type: ignore[no-any-return]


__all__ = ["HardwareResource"]
