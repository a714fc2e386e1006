"""Writing results to stdout: a prediction's output (files saved, their paths printed; text
printed as it is), and any object as JSON for ``--json``."""

from __future__ import annotations

import json
import pathlib
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any, TextIO

if TYPE_CHECKING:
    from .._facade import BaseClient

__all__ = ["print_json", "to_jsonable", "write_output"]


def to_jsonable(value: Any) -> Any:
    """``value`` as plain JSON values: SDK objects by their ``to_dict()``, file outputs by
    their URL, paths as strings."""
    from .._files import FileOutput

    if isinstance(value, FileOutput):
        return value.url
    to_dict = getattr(value, "to_dict", None)
    if callable(to_dict):
        return to_dict()
    if isinstance(value, Mapping):
        return {str(k): to_jsonable(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [to_jsonable(v) for v in value]
    if isinstance(value, pathlib.PurePath):
        return str(value)
    return value


def print_json(value: Any, stdout: TextIO) -> None:
    """``value`` as indented JSON (see :func:`to_jsonable`), one document."""
    stdout.write(json.dumps(to_jsonable(value), indent=2, ensure_ascii=False, default=str))
    stdout.write("\n")
    stdout.flush()


def _concatenated(schema: Mapping[str, Any] | None) -> bool:
    """Whether the output schema says its items make one text (Cog's token iterators)."""
    if schema is None:
        return False
    return (
        schema.get("x-cog-array-display") == "concatenate"
        or schema.get("x-cog-array-type") == "iterator"
    )


def _is_file_schema(schema: Any) -> bool:
    return isinstance(schema, Mapping) and schema.get("format") in ("uri", "binary", "data-url")


class _Saver:
    """Saves file outputs into ``directory`` under their URL's file name, each name used once
    per run (``out.png``, then ``out-1.png``); an existing file of that name is replaced."""

    def __init__(self, directory: pathlib.Path, stdout: TextIO) -> None:
        self.directory = directory
        self.stdout = stdout
        self.used: set[str] = set()
        self.saved: list[pathlib.Path] = []

    def save(self, output: Any) -> pathlib.Path:
        name = output.filename
        stem, dot, suffix = name.rpartition(".")
        if not dot or not stem:
            stem, suffix = name, ""
        candidate, n = name, 0
        while candidate in self.used:
            n += 1
            candidate = f"{stem}-{n}" + (f".{suffix}" if suffix else "")
        self.used.add(candidate)
        self.directory.mkdir(parents=True, exist_ok=True)
        path: pathlib.Path = output.save(self.directory / candidate)
        self.saved.append(path)
        self.stdout.write(f"{path}\n")
        self.stdout.flush()
        return path


def write_output(
    output: Any,
    *,
    client: BaseClient,
    directory: pathlib.Path,
    stdout: TextIO,
    schema: Mapping[str, Any] | None = None,
) -> list[pathlib.Path]:
    """Write a finished prediction's decoded output: each file saved into ``directory`` and its
    path printed; then a string as it is, a list of strings one per line (or joined, when the
    schema says the model streams text), anything else as JSON with saved paths in place of
    the files. Returns the paths saved."""
    from .._files import FileOutput

    saver = _Saver(directory, stdout)

    def files(value: Any, sub: Any) -> Any:
        if (
            isinstance(value, str)
            and _is_file_schema(sub)
            and value.startswith(("http://", "https://", "data:"))
        ):
            value = FileOutput(value, client=client)  # a file on a host the SDK doesn't know
        if isinstance(value, FileOutput):
            return saver.save(value)
        items = sub.get("items") if isinstance(sub, Mapping) else None
        if isinstance(value, list):
            return [files(v, items) for v in value]
        if isinstance(value, Mapping):
            props = sub.get("properties") if isinstance(sub, Mapping) else None
            props = props if isinstance(props, Mapping) else {}
            return {k: files(v, props.get(k)) for k, v in value.items()}
        return value

    result = files(output, schema)
    only_files = _only_paths(result)
    if result is None or (only_files and saver.saved):
        return saver.saved
    if isinstance(result, str):
        text = result
    elif isinstance(result, list) and all(isinstance(v, str) for v in result):
        text = "".join(result) if _concatenated(schema) else "\n".join(result)
    else:
        text = json.dumps(to_jsonable(result), indent=2, ensure_ascii=False, default=str)
    stdout.write(text if text.endswith("\n") else text + "\n")
    stdout.flush()
    return saver.saved


def _only_paths(value: Any) -> bool:
    if isinstance(value, pathlib.Path):
        return True
    if isinstance(value, list):
        return all(_only_paths(v) for v in value)
    if isinstance(value, Mapping):
        return all(_only_paths(v) for v in value.values())
    return False
