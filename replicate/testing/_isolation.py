"""Helpers for plugin tests that are not about servers: an isolated environment and a thread
race. Standard library only."""

from __future__ import annotations

import os
import threading
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager

from .. import _plugins

__all__ = ["isolated_environment", "run_in_threads"]


@contextmanager
def isolated_environment(
    plugins: str | None = None, *, clear: Iterable[str] = (), **env: str
) -> Iterator[None]:
    """Within the block: every ``REPLICATE_*`` and ``*_proxy`` variable (and each variable
    starting with one of the ``clear`` prefixes, e.g. ``("SSL_CERT_",)``) unset, then
    ``REPLICATE_PLUGINS=plugins`` (only those plugins may load; ``None``: left unset) and each
    of ``env`` set (``REPLICATE_POLL_INTERVAL="0.01"``), with the SDK's entry-point scan
    forgotten on entry and on exit; the variables it touched are restored afterwards. So what is
    installed or exported on the machine cannot change a test's result::

        @pytest.fixture(autouse=True)
        def _isolated_env() -> Iterator[None]:
            with isolated_environment("my-plugin"):
                yield
    """
    prefixes = ("REPLICATE_", *clear)
    names = [n for n in os.environ if n.startswith(prefixes) or n.lower().endswith("_proxy")]
    settings = dict(env)
    if plugins is not None:
        settings["REPLICATE_PLUGINS"] = plugins
    saved = {name: os.environ.get(name) for name in [*names, *settings]}
    for name in names:
        del os.environ[name]
    os.environ.update(settings)
    _plugins.reset()
    try:
        yield
    finally:
        for name, value in saved.items():
            if value is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = value
        _plugins.reset()


def run_in_threads(work: Callable[[], object], count: int = 8, *, together: bool = False) -> None:
    """Call ``work()`` in ``count`` threads at once (``together``: all released at the same
    moment by a barrier), wait for every one, then raise the first error any of them raised."""
    errors: list[BaseException] = []
    barrier = threading.Barrier(count)

    def run() -> None:
        try:
            if together:
                barrier.wait()
            work()
        except BaseException as exc:  # reported below
            errors.append(exc)

    threads = [threading.Thread(target=run) for _ in range(count)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    if errors:
        raise errors[0]
