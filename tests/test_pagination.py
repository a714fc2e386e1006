"""Pagination: next URLs verbatim, per-call options on every page, one page held at a time."""

from __future__ import annotations

import gc
from typing import Any

from pytest_httpserver import HTTPServer
from werkzeug import Request, Response

import replicate
from replicate.types import Page, Prediction


def _prediction(pid: str) -> dict[str, Any]:
    return {"id": pid, "status": "succeeded", "input": {}, "output": pid}


def _three_pages(server: HTTPServer) -> None:
    def handler(request: Request) -> Response:
        cursor = request.args.get("cursor", "0")
        nxt = {"0": "1", "1": "2"}.get(cursor)
        body = {
            "next": server.url_for("/v1/predictions") + f"?cursor={nxt}" if nxt else None,
            "previous": None,
            "results": [_prediction(f"{cursor}-{i}") for i in range(3)],
        }
        return Response(
            Page[Any](results=body["results"], next=body["next"]).to_json(),
            content_type="application/json",
        )

    server.expect_request("/v1/predictions").respond_with_handler(handler)


def test_per_call_options_apply_to_every_page(
    client: replicate.Replicate, httpserver: HTTPServer
) -> None:
    _three_pages(httpserver)
    ids = [p.id for p in client.predictions.list(extra_headers={"X-Trace": "t1"}, timeout=5)]
    assert ids == [f"{c}-{i}" for c in "012" for i in range(3)]
    sent = [r for r, _ in httpserver.log]
    assert [r.args.get("cursor") for r in sent] == [None, "1", "2"]
    assert all(r.headers.get("X-Trace") == "t1" for r in sent)


def _live(prefix: str) -> int:
    gc.collect()
    return sum(1 for o in gc.get_objects() if isinstance(o, Prediction) and o.id.startswith(prefix))


def test_iterating_does_not_keep_earlier_pages_alive(
    client: replicate.Replicate, httpserver: HTTPServer
) -> None:
    _three_pages(httpserver)
    iterator = iter(client.predictions.list())
    for _ in range(3):
        next(iterator)
    assert _live("0-") == 3  # page 0 is alive while it is being read
    assert next(iterator).id == "1-0"
    assert _live("0-") == 0  # and released once page 1 arrived (the first page included)
    assert len(list(iterator)) == 5
