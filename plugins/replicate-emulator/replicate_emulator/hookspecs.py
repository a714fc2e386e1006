"""The hooks an emulator plugin implements: how installed packages add models.

A plugin is a module (or any object) with hook implementations, published under the
``replicate_emulator`` entry-point group::

    # pyproject.toml of the plugin's distribution
    [project.entry-points.replicate_emulator]
    acme = "acme_models.emulator"

    # acme_models/emulator.py
    from replicate_emulator.hookspecs import hookimpl
    from replicate_emulator import Input

    @hookimpl
    def replicate_emulator_register_models(register):
        def caption(image: Path, style: str = Input(default="plain")) -> str:
            return f"a {style} picture"

        register(caption, ref="acme/captioner")

Every emulator built with ``entry_points=True`` (the default) then runs ``acme/captioner``.
Plugins are loaded once per process, the first time an emulator asks for them.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pluggy

__all__ = ["PROJECT", "hookimpl", "hookspec", "replicate_emulator_register_models"]

#: The pluggy project name and the entry-point group plugins are published under.
PROJECT = "replicate_emulator"

hookspec = pluggy.HookspecMarker(PROJECT)
#: The marker for hook implementations: ``@replicate_emulator.hookspecs.hookimpl``.
hookimpl = pluggy.HookimplMarker(PROJECT)


@hookspec
def replicate_emulator_register_models(register: Callable[..., Any]) -> None:
    """Add models to the emulator.

    Fires once per process, the first time an emulator with ``entry_points=True`` builds its
    registry (later emulators reuse the models registered then). Call
    ``register(predictor_or_function, ref=None, **options)`` for each model:

    - a :class:`replicate_emulator.Predictor` is added as it is (``ref`` must then be None or
      its own ref);
    - a typed function becomes a Predictor named ``ref`` (``"owner/name"``); without a ref, a
      function decorated with ``@replicate_emulator.model`` keeps the decorator's, any other
      is ``emulator/<function-name>``. Options are the Predictor's (``description=``,
      ``version_id=``, ``cog_version=``).

    ``register`` returns the Predictor. The hook's return value is ignored. A ref registered
    again with a different interface gains a version, which becomes its latest (the same
    interface again replaces the version); models passed to the emulator itself
    (``Emulator(models=[...])``) come after the plugins', so they are the latest.

    If the hook raises (or ``register`` rejects what it is given, say a function whose
    annotations have no schema), the plugin is treated as broken: its models are all left out
    and a warning names it; with ``REPLICATE_STRICT_PLUGINS=1`` it is a
    :class:`replicate.exceptions.PluginError` instead. A plugin that fails to import is treated
    the same way.
    """
