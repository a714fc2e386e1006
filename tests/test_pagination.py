"""Pagination: next URLs verbatim, per-call options on every page, one page held at a time."""

from __future__ import annotations

import gc

from pytest_httpserver import HTTPServer
from support import three_pages

import replicate
from replicate.types import Prediction


def test_per_call_options_apply_to_every_page(
    client: replicate.Replicate, httpserver: HTTPServer
) -> None:
    three_pages(httpserver)
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
    three_pages(httpserver)
    iterator = iter(client.predictions.list())
    for _ in range(3):
        next(iterator)
    assert _live("0-") == 3  # page 0 is alive while it is being read
    assert next(iterator).id == "1-0"
    assert _live("0-") == 0  # and released once page 1 arrived (the first page included)
    assert len(list(iterator)) == 5
