"""The ``replicate`` command's parts on their own: ``key=value`` conversion by schema, the
progress display, and how outputs are written."""

from __future__ import annotations

import io
import pathlib
from typing import Any

import pytest

from replicate.cli._context import CommandError
from replicate.cli._inputs import build_input, parse_assignment
from replicate.cli._output import write_output
from replicate.cli._progress import Display, render_bar
from replicate.types import Prediction

SCHEMA: dict[str, Any] = {
    "type": "object",
    "properties": {
        "n": {"type": "integer"},
        "x": {"type": "number"},
        "ok": {"type": "boolean"},
        "tags": {"type": "array", "items": {"type": "string"}},
        "sizes": {"type": "array", "items": {"type": "integer"}},
        "images": {"type": "array", "items": {"type": "string", "format": "uri"}},
        "opts": {"type": "object"},
        "seed": {"anyOf": [{"type": "integer"}, {"type": "null"}]},
        "mode": {"allOf": [{"enum": [1, 2, 4], "type": "integer"}]},
        "text": {"type": "string"},
    },
}


def fails(items: list[str], schema: dict[str, Any] | None = SCHEMA) -> str:
    with pytest.raises(CommandError) as info:
        build_input(items, schema)
    assert info.value.exit_code == 2
    assert "\n" not in info.value.message
    return info.value.message


@pytest.mark.parametrize(
    ("item", "expected"),
    [
        ("n=3", {"n": 3}),
        ("n= -3 ", {"n": -3}),
        ("x=3", {"x": 3}),
        ("x=0.5", {"x": 0.5}),
        ("ok=TRUE", {"ok": True}),
        ("ok=off", {"ok": False}),
        ("ok=0", {"ok": False}),
        ("tags=a, b c,d", {"tags": ["a", "b c", "d"]}),
        ('tags=["a,b", "c"]', {"tags": ["a,b", "c"]}),
        ("tags=", {"tags": []}),
        ("sizes=1,2", {"sizes": [1, 2]}),
        ('opts={"a": 1}', {"opts": {"a": 1}}),
        ("seed=7", {"seed": 7}),
        ("mode=4", {"mode": 4}),
        ("text=007", {"text": "007"}),
        ("text=a=b", {"text": "a=b"}),
        ("n:=null", {"n": None}),
        ('text:="@x"', {"text": "@x"}),
    ],
)
def test_values_are_converted_by_the_schema(item: str, expected: dict[str, Any]) -> None:
    assert build_input([item], SCHEMA) == expected


@pytest.mark.parametrize(
    ("items", "expected"),
    [
        (["n=x"], "input 'n' must be an integer; got 'x'"),
        (["n=1.5"], "input 'n' must be an integer; got '1.5'"),
        (["x=nan"], "input 'x' must be a finite number; got 'nan'"),
        (["ok=maybe"], "input 'ok' must be a boolean (true or false); got 'maybe'"),
        (["sizes=1,two"], "input 'sizes' must be an integer; got 'two'"),
        (["tags=[1"], "input 'tags': '[1' is not a JSON list"),
        (["opts=[1]"], "input 'opts' must be a JSON object; got '[1]'"),
        (["mode=3"], "input 'mode' must be one of 1, 2, 4; got int 3"),
        (["n=1", "n=2"], "input 'n' is given twice"),
        (["n:=nope"], "input 'n': 'nope' is not JSON"),
        (["=1"], "expected key=value, key=@file or key:=json; got '=1'"),
        (["images=@"], "input 'images': '@' must be followed by a file's path"),
        (["nope=1", "nah=2"], "unknown input 'nope'"),
    ],
)
def test_bad_values_say_what_the_input_takes(items: list[str], expected: str) -> None:
    assert expected in fails(items)


def test_several_problems_are_joined_on_one_line() -> None:
    message = fails(["mode=3", "nope=1"])
    assert "must be one of 1, 2, 4" in message and "unknown input 'nope'" in message
    assert "; " in message


def test_files_and_repeated_array_keys(tmp_path: pathlib.Path) -> None:
    a, b, c = (tmp_path / n for n in ("a.png", "b.png", "c.png"))
    for f in (a, b, c):
        f.write_bytes(b"x")
    got = build_input([f"images=@{a}", f"images=@{b},@{c}", "tags=x", "tags=y,z"], SCHEMA)
    assert got == {"images": [a, b, c], "tags": ["x", "y", "z"]}
    assert build_input([f"text=@{a}"], None) == {"text": a}


def test_without_a_schema_values_stay_strings() -> None:
    assert build_input(["n=3", "ok=true", "n=4", "j:=[1]"], None) == {
        "n": ["3", "4"],
        "ok": "true",
        "j": [1],
    }


def test_parse_assignment_forms() -> None:
    assert parse_assignment("a=b") == ("a", "=", "b")
    assert parse_assignment("a=@p") == ("a", "@", "p")
    assert parse_assignment("a:=1") == ("a", ":=", "1")


# --- progress -------------------------------------------------------------------------------


def state(status: str, logs: str = "", **fields: Any) -> Prediction:
    return Prediction(id="p9", status=status, logs=logs, **fields)


def test_render_bar_looks_like_tqdm() -> None:
    # 40 columns: 6 for the percentage and the margin, 6 for "| 9/20", 28 for the bar
    assert render_bar(45, 9, 20, columns=40) == " 45%|" + "#" * 13 + " " * 15 + "| 9/20"
    assert render_bar(100, 20, 20, "[00:04<00:00]", columns=200).endswith(
        "#" * 40 + "| 20/20 [00:04<00:00]"
    )
    assert render_bar(0, 0, 0, columns=30).startswith("  0%|" + " " * 10)


def test_on_a_terminal_progress_lines_become_one_redrawn_bar() -> None:
    err = io.StringIO()
    display = Display(err, tty=True)
    display.update(state("starting"))
    display.update(state("processing", "loading\n 10%|#   | 1/10 [00:01<00:09]\n"))
    display.update(state("processing", "loading\n 10%|#   | 1/10 [00:01<00:09]\n 50%|##  | 5/10"))
    display.update(
        state("processing", "loading\n 10%|#   | 1/10 [00:01<00:09]\n 50%|##  | 5/10\nhalf way\n")
    )
    display.update(
        state(
            "succeeded",
            "loading\n 10%|#   | 1/10 [00:01<00:09]\n 50%|##  | 5/10\nhalf way\n100%|####| 10/10\n",
        )
    )
    text = err.getvalue()
    bar10 = render_bar(10, 1, 10, "[00:01<00:09]")
    bar50 = render_bar(50, 5, 10)
    bar100 = render_bar(100, 10, 10)
    assert text == (
        "prediction p9: starting\n"
        "prediction p9: processing\n"
        "loading\n"
        f"\r\x1b[K{bar10}"
        f"\r\x1b[K{bar50}"  # drawn before its line ended
        f"\r\x1b[K{bar50}"  # and again when it did
        f"\r\x1b[Khalf way\n{bar50}"  # a log line goes above the bar
        f"\r\x1b[K{bar100}\n"
        "prediction p9: succeeded\n"
    )


def test_off_a_terminal_every_line_is_written_as_it_came() -> None:
    err = io.StringIO()
    display = Display(err, tty=False)
    display.update(state("processing", " 10%|#   | 1/10\r 20%|##  | 2/10\n"))
    display.log("from a stream")
    display.update(state("failed", " 10%|#   | 1/10\r 20%|##  | 2/10\nno newline"))
    assert err.getvalue().splitlines() == [
        "prediction p9: processing",
        " 10%|#   | 1/10",
        " 20%|##  | 2/10",
        "from a stream",
        "no newline",
        "prediction p9: failed",
    ]


def test_quiet_writes_nothing() -> None:
    err = io.StringIO()
    display = Display(err, tty=True, quiet=True)
    display.update(state("processing", " 10%|#   | 1/10\n"))
    display.log("x")
    display.close()
    assert err.getvalue() == ""


# --- outputs --------------------------------------------------------------------------------


class FakeFile:
    """Stands in for a FileOutput: write_output only needs filename and save()."""

    def __init__(self, name: str, data: bytes) -> None:
        self.filename = name
        self.data = data

    def save(self, path: pathlib.Path) -> pathlib.Path:
        path.write_bytes(self.data)
        return path


@pytest.mark.parametrize(
    ("output", "schema", "printed"),
    [
        ("hello", None, "hello\n"),
        ("ends\n", None, "ends\n"),
        (["a", "b"], None, "a\nb\n"),
        (["to", "ken", "s"], {"type": "array", "x-cog-array-type": "iterator"}, "tokens\n"),
        ({"score": 0.5}, None, '{\n  "score": 0.5\n}\n'),
        (3, None, "3\n"),
        (None, None, ""),
    ],
)
def test_text_outputs_are_printed(
    tmp_path: pathlib.Path, output: Any, schema: Any, printed: str
) -> None:
    out = io.StringIO()
    saved = write_output(output, client=None, directory=tmp_path, stdout=out, schema=schema)  # type: ignore[arg-type]
    assert (out.getvalue(), saved) == (printed, [])


def test_files_in_an_output_are_saved_and_replaced_by_their_paths(
    tmp_path: pathlib.Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from replicate import _files

    monkeypatch.setattr(_files, "FileOutput", FakeFile)
    out = io.StringIO()
    output = {
        "image": FakeFile("out.png", b"1"),
        "caption": "a cat",
        "more": [FakeFile("out.png", b"2")],
    }
    saved = write_output(output, client=None, directory=tmp_path / "d", stdout=out)  # type: ignore[arg-type]
    d = tmp_path / "d"
    assert saved == [d / "out.png", d / "out-1.png"]
    assert (d / "out.png").read_bytes() == b"1" and (d / "out-1.png").read_bytes() == b"2"
    lines = out.getvalue().splitlines()
    assert lines[:2] == [str(d / "out.png"), str(d / "out-1.png")]
    assert '"caption": "a cat"' in out.getvalue()
    assert f'"image": "{d / "out.png"}"' in out.getvalue()
