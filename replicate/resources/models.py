"""``client.models``: models, and their examples, readme, versions and predictions."""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from .._sentinels import NOT_GIVEN, NotGiven, given
from ..types import Model, Prediction, Version
from ._base import Resource, check_options, path_param
from .predictions import create_prediction

if TYPE_CHECKING:
    from typing_extensions import Unpack

    from ..pagination import SyncPage
    from ._base import RequestOptions


def model_path(model_owner: str, model_name: str) -> str:
    """``/models/{owner}/{name}``, each part checked and URL-quoted."""
    return (
        f"/models/{path_param('model_owner', model_owner)}/{path_param('model_name', model_name)}"
    )


class Models(Resource):
    """Models: ``/models`` and ``/models/{owner}/{name}``, with sub-resources ``examples``,
    ``readme``, ``versions`` and ``predictions``."""

    __slots__ = ()

    @property
    def examples(self) -> ModelExamples:
        """A model's example predictions."""
        return ModelExamples(self._client)

    @property
    def readme(self) -> ModelReadme:
        """A model's README (Markdown)."""
        return ModelReadme(self._client)

    @property
    def versions(self) -> ModelVersions:
        """A model's versions."""
        return ModelVersions(self._client)

    @property
    def predictions(self) -> ModelPredictions:
        """Predictions of a model's latest version (official models, no version id needed)."""
        return ModelPredictions(self._client)

    def create(
        self,
        *,
        hardware: str,
        name: str,
        owner: str,
        visibility: str,
        cover_image_url: str | NotGiven = NOT_GIVEN,
        description: str | NotGiven = NOT_GIVEN,
        github_url: str | NotGiven = NOT_GIVEN,
        license_url: str | NotGiven = NOT_GIVEN,
        paper_url: str | NotGiven = NOT_GIVEN,
        **options: Unpack[RequestOptions],
    ) -> Model:
        """Create an empty model to push versions to; ``owner`` must be the token's account or
        one of its organizations, ``hardware`` a SKU from ``client.hardware.list()`` and
        ``visibility`` ``"public"`` or ``"private"``."""
        check_options("create", options)
        body = given(
            hardware=hardware,
            name=name,
            owner=owner,
            visibility=visibility,
            cover_image_url=cover_image_url,
            description=description,
            github_url=github_url,
            license_url=license_url,
            paper_url=paper_url,
        )
        return self._call("POST", "/models", cast=Model, options=options, body=body)  # type: ignore[no-any-return]

    def get(self, model_owner: str, model_name: str, **options: Unpack[RequestOptions]) -> Model:
        """One model, with its latest version (and that version's OpenAPI schema) and default
        example."""
        check_options("get", options)
        path = model_path(model_owner, model_name)
        return self._get(path, Model, options)  # type: ignore[no-any-return]

    def list(
        self,
        *,
        sort_by: str | NotGiven = NOT_GIVEN,
        sort_direction: str | NotGiven = NOT_GIVEN,
        **options: Unpack[RequestOptions],
    ) -> SyncPage[Model]:
        """Public models across every page (iterate), or page by page. ``sort_by`` is
        ``"model_created_at"`` or ``"latest_version_created_at"``; ``sort_direction`` ``"asc"``
        or ``"desc"``."""
        check_options("list", options)
        params = given(sort_by=sort_by, sort_direction=sort_direction)
        return self._list("/models", Model, params=params, options=options)  # type: ignore[no-any-return]

    def update(
        self,
        model_owner: str,
        model_name: str,
        *,
        description: str | NotGiven = NOT_GIVEN,
        github_url: str | NotGiven = NOT_GIVEN,
        license_url: str | NotGiven = NOT_GIVEN,
        paper_url: str | NotGiven = NOT_GIVEN,
        readme: str | NotGiven = NOT_GIVEN,
        weights_url: str | NotGiven = NOT_GIVEN,
        **options: Unpack[RequestOptions],
    ) -> Model:
        """Change a model's metadata; only the fields passed are sent (``PATCH``)."""
        check_options("update", options)
        path = model_path(model_owner, model_name)
        body = given(
            description=description,
            github_url=github_url,
            license_url=license_url,
            paper_url=paper_url,
            readme=readme,
            weights_url=weights_url,
        )
        return self._call("PATCH", path, cast=Model, options=options, body=body)  # type: ignore[no-any-return]

    def delete(self, model_owner: str, model_name: str, **options: Unpack[RequestOptions]) -> None:
        """Delete a model. The API only allows this for your own private models that have no
        versions left (delete those first with ``models.versions.delete``)."""
        check_options("delete", options)
        path = model_path(model_owner, model_name)
        return self._call("DELETE", path, cast=None, options=options)  # type: ignore[no-any-return]

    def search(
        self,
        body: str | NotGiven = NOT_GIVEN,
        *,
        query: str | NotGiven = NOT_GIVEN,
        **options: Unpack[RequestOptions],
    ) -> SyncPage[Model]:
        """Public models matching a search string, across every page.

        Sends ``QUERY /models`` with the string itself as a ``text/plain`` body, as the API
        specifies (v2 sent it JSON-quoted). ``body=`` is v2's name; ``query=`` reads better.
        Pass exactly one.
        """
        check_options("search", options)
        if isinstance(body, NotGiven) == isinstance(query, NotGiven):
            raise TypeError("search() takes the search string as body= or query=, exactly one")
        text = query if isinstance(body, NotGiven) else body
        if not isinstance(text, str):
            raise TypeError(f"the search string must be a str, not {type(text).__name__}")
        if not text.strip():
            raise ValueError("the search string must not be empty")
        return self._list(  # type: ignore[no-any-return]
            "/models",
            Model,
            method="QUERY",
            content=text,
            headers={"Content-Type": "text/plain"},
            options=options,
        )


class ModelExamples(Resource):
    """``GET /models/{owner}/{name}/examples``."""

    __slots__ = ()

    def list(
        self, model_owner: str, model_name: str, **options: Unpack[RequestOptions]
    ) -> SyncPage[Prediction]:
        """The example predictions the model's author picked to show what it does."""
        check_options("list", options)
        path = f"{model_path(model_owner, model_name)}/examples"
        return self._list(path, Prediction, options=options)  # type: ignore[no-any-return]


class ModelReadme(Resource):
    """``GET /models/{owner}/{name}/readme``."""

    __slots__ = ()

    def get(self, model_owner: str, model_name: str, **options: Unpack[RequestOptions]) -> str:
        """The model's README as Markdown text (the endpoint answers ``text/plain``)."""
        check_options("get", options)
        path = f"{model_path(model_owner, model_name)}/readme"
        return self._call(  # type: ignore[no-any-return]
            "GET", path, cast=str, options=options, headers={"Accept": "text/plain"}
        )


class ModelVersions(Resource):
    """``/models/{owner}/{name}/versions``."""

    __slots__ = ()

    def list(
        self, model_owner: str, model_name: str, **options: Unpack[RequestOptions]
    ) -> SyncPage[Version]:
        """A model's versions, newest first, across every page."""
        check_options("list", options)
        path = f"{model_path(model_owner, model_name)}/versions"
        return self._list(path, Version, options=options)  # type: ignore[no-any-return]

    def get(
        self,
        model_owner: str,
        model_name: str,
        version_id: str,
        **options: Unpack[RequestOptions],
    ) -> Version:
        """One version, with its OpenAPI schema (the model's inputs and outputs)."""
        check_options("get", options)
        path = _version_path(model_owner, model_name, version_id)
        return self._get(path, Version, options)  # type: ignore[no-any-return]

    def delete(
        self,
        model_owner: str,
        model_name: str,
        version_id: str,
        **options: Unpack[RequestOptions],
    ) -> None:
        """Delete a version. The API accepts the request (202) and deletes it shortly after; it
        refuses versions that other people's predictions, trainings or deployments use."""
        check_options("delete", options)
        path = _version_path(model_owner, model_name, version_id)
        return self._call("DELETE", path, cast=None, options=options)  # type: ignore[no-any-return]


def _version_path(model_owner: str, model_name: str, version_id: str) -> str:
    return f"{model_path(model_owner, model_name)}/versions/{path_param('version_id', version_id)}"


class ModelPredictions(Resource):
    """``POST /models/{owner}/{name}/predictions``."""

    __slots__ = ()

    def create(
        self,
        model_owner: str,
        model_name: str,
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
        """Run a model's latest version without naming the version (how official models are
        run).

        ``wait=True``/``wait=N`` (or ``prefer="wait=N"``) asks for sync mode; the prediction
        comes back as the API answered, complete or not. ``cancel_after`` ("5m", or seconds)
        sets the server-side deadline.
        """
        return create_prediction(
            self,
            f"{model_path(model_owner, model_name)}/predictions",
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


__all__ = ["ModelExamples", "ModelPredictions", "ModelReadme", "ModelVersions", "Models"]
