"""``client.deployments``: deployments (a model version on dedicated, autoscaled hardware) and
their predictions."""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from .._sentinels import NOT_GIVEN, NotGiven, given
from ..types import Deployment, Prediction
from ._base import Resource, check_options, path_param
from .predictions import create_prediction

if TYPE_CHECKING:
    from typing_extensions import Unpack

    from ..pagination import SyncPage
    from ._base import RequestOptions


def deployment_path(deployment_owner: str, deployment_name: str) -> str:
    """``/deployments/{owner}/{name}``, each part checked and URL-quoted."""
    return (
        f"/deployments/{path_param('deployment_owner', deployment_owner)}"
        f"/{path_param('deployment_name', deployment_name)}"
    )


class Deployments(Resource):
    """Deployments: ``/deployments`` and ``/deployments/{owner}/{name}``, with the
    ``predictions`` sub-resource."""

    __slots__ = ()

    @property
    def predictions(self) -> DeploymentPredictions:
        """Predictions run on a deployment's hardware."""
        return DeploymentPredictions(self._client)

    def create(
        self,
        *,
        hardware: str,
        max_instances: int,
        min_instances: int,
        model: str,
        name: str,
        version: str,
        **options: Unpack[RequestOptions],
    ) -> Deployment:
        """Create a deployment of ``model`` (``owner/name``) at ``version`` (a 64-hex id) on
        ``hardware`` (a SKU), scaling between ``min_instances`` and ``max_instances``."""
        check_options("create", options)
        body = {
            "hardware": hardware,
            "max_instances": max_instances,
            "min_instances": min_instances,
            "model": model,
            "name": name,
            "version": version,
        }
        return self._call("POST", "/deployments", cast=Deployment, options=options, body=body)  # type: ignore[no-any-return]

    def get(
        self, deployment_owner: str, deployment_name: str, **options: Unpack[RequestOptions]
    ) -> Deployment:
        """One deployment, with its current release (version and hardware configuration)."""
        check_options("get", options)
        path = deployment_path(deployment_owner, deployment_name)
        return self._get(path, Deployment, options)  # type: ignore[no-any-return]

    def list(self, **options: Unpack[RequestOptions]) -> SyncPage[Deployment]:
        """The deployments of the token's account, across every page (iterate), or page by
        page."""
        check_options("list", options)
        return self._list("/deployments", Deployment, options=options)  # type: ignore[no-any-return]

    def update(
        self,
        deployment_owner: str,
        deployment_name: str,
        *,
        hardware: str | NotGiven = NOT_GIVEN,
        max_instances: int | NotGiven = NOT_GIVEN,
        min_instances: int | NotGiven = NOT_GIVEN,
        version: str | NotGiven = NOT_GIVEN,
        **options: Unpack[RequestOptions],
    ) -> Deployment:
        """Make a new release of the deployment with the settings passed changed (``PATCH``;
        only those fields are sent)."""
        check_options("update", options)
        path = deployment_path(deployment_owner, deployment_name)
        body = given(
            hardware=hardware,
            max_instances=max_instances,
            min_instances=min_instances,
            version=version,
        )
        return self._call("PATCH", path, cast=Deployment, options=options, body=body)  # type: ignore[no-any-return]

    def delete(
        self, deployment_owner: str, deployment_name: str, **options: Unpack[RequestOptions]
    ) -> None:
        """Delete a deployment. The API only allows this once it has been offline and unused
        for a while (scale ``min_instances`` to 0 first)."""
        check_options("delete", options)
        path = deployment_path(deployment_owner, deployment_name)
        return self._call("DELETE", path, cast=None, options=options)  # type: ignore[no-any-return]


class DeploymentPredictions(Resource):
    """``POST /deployments/{owner}/{name}/predictions``."""

    __slots__ = ()

    def create(
        self,
        deployment_owner: str,
        deployment_name: str,
        *,
        input: Mapping[str, Any],
        stream: bool | NotGiven = NOT_GIVEN,
        webhook: str | NotGiven = NOT_GIVEN,
        webhook_events_filter: list[str] | NotGiven = NOT_GIVEN,
        cancel_after: str | int | NotGiven = NOT_GIVEN,
        prefer: str | NotGiven = NOT_GIVEN,
        wait: bool | int | NotGiven = NOT_GIVEN,
        file_encoding_strategy: str | None = None,
        **options: Unpack[RequestOptions],
    ) -> Prediction:
        """Run a prediction on a deployment (its current release's version and hardware).

        ``wait=True``/``wait=N`` (or ``prefer="wait=N"``) asks for sync mode; the prediction
        comes back as the API answered, complete or not. ``cancel_after`` ("5m", or seconds)
        sets the server-side deadline.
        """
        return create_prediction(
            self,
            f"{deployment_path(deployment_owner, deployment_name)}/predictions",
            options,
            input=input,
            stream=stream,
            webhook=webhook,
            webhook_events_filter=webhook_events_filter,
            cancel_after=cancel_after,
            prefer=prefer,
            wait=wait,
            file_encoding_strategy=file_encoding_strategy,
        )


__all__ = ["DeploymentPredictions", "Deployments"]
