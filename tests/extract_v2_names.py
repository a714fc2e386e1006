"""Print the public names of the official v2 SDK, for ``tests/test_v2_names.py`` (not a test).

Run it with an interpreter that has ``replicate==2.0.0b4`` installed, from a directory outside
this checkout (so that ``import replicate`` finds the official package)::

    cd /tmp && /tmp/v2venv/bin/python /path/to/tests/extract_v2_names.py

and paste its output over ``V2_NAMES`` and ``V2_PARAMS`` there. The names of a module are its
``__all__`` plus, for a module without one (``replicate.types`` and its subpackages) and for the
top level, every other attribute not starting with ``_``, leaving out: submodules of a package
below the top level (each is a key of its own), ``from __future__ import annotations``, and
names the top level imports from ``typing``/``typing_extensions`` (``override``). Every
submodule of ``replicate.types`` is walked, recursively. ``V2_PARAMS`` gives each parameter
TypedDict's required and optional keys.
"""

import __future__

import importlib
import pkgutil
import types

import typing_extensions

import replicate


def public(mod: types.ModuleType) -> list[str]:
    declared = getattr(mod, "__all__", None)
    names = set(declared or ())
    for name, value in list(vars(mod).items()):
        if name.startswith("_") or name in names or isinstance(value, __future__._Feature):
            continue
        if isinstance(value, types.ModuleType):
            if mod.__name__ == "replicate" and value.__name__.startswith("replicate."):
                names.add(name)  # lib, types, resources...: attributes of the top level
            continue
        if declared is not None and mod.__name__ != "replicate":
            continue  # a module with __all__: what it imports for its own use is not its API
        owner = (getattr(value, "__module__", "") or "").split(".")[0]
        if mod.__name__ == "replicate" and owner in ("typing", "typing_extensions"):
            continue
        names.add(name)
    return sorted(names)


def main() -> None:
    out = {"replicate": public(replicate)}
    out["replicate.pagination"] = public(importlib.import_module("replicate.pagination"))
    package = importlib.import_module("replicate.types")
    modules = ["replicate.types"]
    modules += [m.name for m in pkgutil.walk_packages(package.__path__, "replicate.types.")]
    for name in sorted(modules):
        out[name] = public(importlib.import_module(name))
    params = {}
    for name in sorted(modules):
        mod = importlib.import_module(name)
        for attr in getattr(mod, "__all__", ()):
            td = getattr(mod, attr)
            if typing_extensions.is_typeddict(td):
                hints = typing_extensions.get_type_hints(td, include_extras=True)
                required = sorted(
                    k
                    for k, v in hints.items()
                    if typing_extensions.get_origin(v) is typing_extensions.Required
                )
                optional = sorted(k for k in hints if k not in required)
                params[f"{name}.{attr}"] = (required, optional)
    print("V2_NAMES = {")
    for key in sorted(out, key=lambda k: (k != "replicate", k)):
        print(f"    {key!r}: {out[key]!r},")
    print("}")
    print("V2_PARAMS = {")
    for key, (required, optional) in params.items():
        print(f"    {key!r}: ({required!r}, {optional!r}),")
    print("}")


if __name__ == "__main__":
    main()
