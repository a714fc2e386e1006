"""The ``replicate`` command in process (``replicate.cli.main([...])``, stdout and stderr
captured) against a fake API on a loopback server (pytest-httpserver), passed with
``--base-url``: inputs typed by the schema, outputs printed and saved, the other commands, the
token's sources and the exit statuses scripts rely on."""

from __future__ import annotations

import json
import threading
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from pytest_httpserver import HTTPServer
from werkzeug import Request as WRequest
from werkzeug import Response as WResponse

from replicate.cli import main

TOKEN = "r8_CliTestToken0123456789"
VERSION_ID = "a" * 64
PID = "p1"

SCHEMA: dict[str, Any] = {
    "openapi": "3.0.2",
    "components": {
        "schemas": {
            "Input": {
                "type": "object",
                "title": "Input",
                "required": ["text"],
                "properties": {
                    "text": {
                        "type": "string",
                        "title": "Text",
                        "x-order": 0,
                        "description": "Who to greet",
                    },
                    "steps": {
                        "type": "integer",
                        "default": 20,
                        "minimum": 1,
                        "maximum": 50,
                        "x-order": 1,
                    },
                    "scale": {"type": "number", "default": 7.5, "x-order": 2},
                    "flag": {"type": "boolean", "default": False, "x-order": 3},
                    "scheduler": {
                        "allOf": [{"$ref": "#/components/schemas/scheduler"}],
                        "default": "fast",
                        "x-order": 4,
                    },
                    "sizes": {"type": "array", "items": {"type": "integer"}, "x-order": 5},
                    "image": {"type": "string", "format": "uri", "x-order": 6},
                },
            },
            "scheduler": {"title": "scheduler", "enum": ["fast", "slow"], "type": "string"},
            "Output": {"type": "string"},
        }
    },
}


def schema_with_output(output: dict[str, Any]) -> dict[str, Any]:
    schema = json.loads(json.dumps(SCHEMA))
    schema["components"]["schemas"]["Output"] = output
    return schema


class FakeAPI:
    """A model ``acme/hello`` (with ``SCHEMA``) whose predictions go through ``states``: each
    poll of ``GET /v1/predictions/p1`` answers the next one (the last repeats). Records the
    creates' bodies, the cancels and the Authorization headers seen."""

    def __init__(self, server: HTTPServer, schema: dict[str, Any] | None = None) -> None:
        self.server = server
        self.schema = SCHEMA if schema is None else schema
        self.creates: list[dict[str, Any]] = []
        self.cancels = 0
        self.auth: list[str | None] = []
        self.states: list[dict[str, Any]] = [self.prediction("succeeded", output="hello bob")]
        self.polls = 0
        self.lock = threading.Lock()
        server.expect_request("/v1/models/acme/hello", method="GET").respond_with_handler(
            self._model
        )
        server.expect_request(
            f"/v1/models/acme/hello/versions/{VERSION_ID}", method="GET"
        ).respond_with_handler(self._version)
        for path in ("/v1/models/acme/hello/predictions", "/v1/predictions"):
            server.expect_request(path, method="POST").respond_with_handler(self._create)
        server.expect_request(f"/v1/predictions/{PID}", method="GET").respond_with_handler(
            self._poll
        )
        server.expect_request(f"/v1/predictions/{PID}/cancel", method="POST").respond_with_handler(
            self._cancel
        )

    @property
    def url(self) -> str:
        return self.server.url_for("/v1")

    def prediction(self, status: str, **fields: Any) -> dict[str, Any]:
        return {
            "id": PID,
            "model": "acme/hello",
            "version": VERSION_ID,
            "status": status,
            "input": {"text": "bob"},
            "logs": "",
            "created_at": "2026-01-01T00:00:00Z",
            "urls": {
                "get": self.server.url_for(f"/v1/predictions/{PID}"),
                "cancel": self.server.url_for(f"/v1/predictions/{PID}/cancel"),
            },
            **fields,
        }

    def _json(self, body: Any, status: int = 200) -> WResponse:
        return WResponse(json.dumps(body), status=status, content_type="application/json")

    def _model(self, request: WRequest) -> WResponse:
        self.auth.append(request.headers.get("Authorization"))
        return self._json(
            {
                "owner": "acme",
                "name": "hello",
                "description": "Says hello",
                "visibility": "public",
                "run_count": 42,
                "url": "https://replicate.com/acme/hello",
                "latest_version": {
                    "id": VERSION_ID,
                    "cog_version": "0.9.0",
                    "openapi_schema": self.schema,
                },
            }
        )

    def _version(self, request: WRequest) -> WResponse:
        return self._json({"id": VERSION_ID, "cog_version": "0.9.0", "openapi_schema": self.schema})

    def _create(self, request: WRequest) -> WResponse:
        self.auth.append(request.headers.get("Authorization"))
        self.creates.append({"path": request.path, **json.loads(request.get_data())})
        return self._json(self.prediction("starting"), 201)

    def _poll(self, request: WRequest) -> WResponse:
        with self.lock:
            state = self.states[min(self.polls, len(self.states) - 1)]
            self.polls += 1
        return self._json(state)

    def _cancel(self, request: WRequest) -> WResponse:
        with self.lock:
            self.cancels += 1
        return self._json(self.prediction("canceled"))


@pytest.fixture(autouse=True)
def _fast_polls(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("REPLICATE_POLL_INTERVAL", "0.01")
    monkeypatch.setenv("REPLICATE_API_TOKEN", TOKEN)


@pytest.fixture
def api(httpserver: HTTPServer) -> FakeAPI:
    return FakeAPI(httpserver)


Run = Callable[..., tuple[int, str, str]]


@pytest.fixture
def cli(capsys: pytest.CaptureFixture[str], api: FakeAPI) -> Run:
    """``cli("run", ...)``: main() with ``--base-url`` pointing at the fake; (status, stdout,
    stderr)."""

    def run(*argv: str, base: bool = True) -> tuple[int, str, str]:
        status = main([*(["--base-url", api.url] if base else []), *argv])
        out, err = capsys.readouterr()
        return status, out, err

    return run


def one_line(err: str) -> str:
    lines = err.strip().splitlines()
    assert len(lines) == 1, f"expected one line on stderr, got {err!r}"
    assert "Traceback" not in err
    return lines[0]


# --- run ------------------------------------------------------------------------------------


def test_run_types_each_input_by_the_schema_and_prints_the_text_output(
    cli: Run, api: FakeAPI
) -> None:
    status, out, err = cli(
        "run",
        "acme/hello",
        "text=bob",
        "steps=20",
        "scale=2.5",
        "flag=yes",
        "scheduler=slow",
        "sizes=1, 2,3",
    )
    assert status == 0, err
    assert out == "hello bob\n"
    assert api.creates == [
        {
            "path": "/v1/models/acme/hello/predictions",
            "input": {
                "text": "bob",
                "steps": 20,
                "scale": 2.5,
                "flag": True,
                "scheduler": "slow",
                "sizes": [1, 2, 3],
            },
        }
    ]
    assert f"prediction {PID}: starting" in err
    assert f"prediction {PID}: succeeded" in err


def test_inputs_after_an_option_are_still_inputs(cli: Run, api: FakeAPI) -> None:
    status, out, err = cli("run", "acme/hello", "text=bob", "-q", "steps=3")
    assert (status, out) == (0, "hello bob\n"), err
    assert api.creates[0]["input"] == {"text": "bob", "steps": 3}
    assert err == ""  # --quiet: no status lines


def test_a_pinned_version_creates_by_version_id(cli: Run, api: FakeAPI) -> None:
    status, out, err = cli("run", f"acme/hello:{VERSION_ID}", "text=bob")
    assert (status, out) == (0, "hello bob\n"), err
    assert api.creates[0]["path"] == "/v1/predictions"
    assert api.creates[0]["version"] == VERSION_ID


@pytest.mark.parametrize(
    ("arg", "expected"),
    [
        ("scheduler=medium", "must be one of 'fast', 'slow'"),
        ("steps=many", "input 'steps' must be an integer; got 'many'"),
        ("steps=99", "input 'steps' must be between 1 and 50"),
        ("flag=perhaps", "input 'flag' must be a boolean"),
        ("txt=bob", "unknown input 'txt' (did you mean 'text'?)"),
        ("image=@/no/such/file.png", "input 'image': no such file"),
        ("text", "expected key=value"),
    ],
)
def test_bad_inputs_are_a_usage_error_before_anything_is_created(
    cli: Run, api: FakeAPI, arg: str, expected: str
) -> None:
    argv = ["run", "acme/hello", arg] + ([] if arg.startswith("text") else ["text=bob"])
    status, out, err = cli(*argv)
    assert (status, out) == (2, "")
    assert expected in one_line(err)
    assert api.creates == []


def test_a_missing_required_input_names_it(cli: Run, api: FakeAPI) -> None:
    status, _, err = cli("run", "acme/hello", "steps=3")
    assert status == 2
    assert "missing required input 'text'" in one_line(err)


def test_a_failed_prediction_exits_1_with_its_error_on_one_line(cli: Run, api: FakeAPI) -> None:
    api.states = [api.prediction("failed", error="CUDA out of memory\n  at line 3")]
    status, out, err = cli("run", "acme/hello", "text=bob")
    assert status == 1
    assert out == ""
    assert err.strip().splitlines()[-1] == (
        f"replicate: prediction {PID} failed: CUDA out of memory at line 3"
    )
    assert "Traceback" not in err


def test_a_canceled_prediction_exits_1(cli: Run, api: FakeAPI) -> None:
    api.states = [api.prediction("canceled")]
    status, _, err = cli("run", "acme/hello", "text=bob")
    assert status == 1
    assert err.strip().splitlines()[-1] == f"replicate: prediction {PID} was canceled"


def test_logs_go_to_stderr_as_plain_lines_when_it_is_not_a_terminal(cli: Run, api: FakeAPI) -> None:
    api.states = [
        api.prediction("processing", logs="loading\n 10%|#         | 1/10\n"),
        api.prediction(
            "processing", logs="loading\n 10%|#         | 1/10\n 50%|#####     | 5/10\n"
        ),
        api.prediction(
            "succeeded",
            logs="loading\n 10%|#         | 1/10\n 50%|#####     | 5/10\ndone",
            output="hello bob",
            metrics={"predict_time": 1.25},
        ),
    ]
    status, out, err = cli("run", "acme/hello", "text=bob")
    assert status == 0, err
    assert out == "hello bob\n"
    lines = err.splitlines()
    assert lines == [
        f"prediction {PID}: starting",
        f"prediction {PID}: processing",
        "loading",
        " 10%|#         | 1/10",
        " 50%|#####     | 5/10",
        "done",
        f"prediction {PID}: succeeded in 1.2s",
    ]
    assert "\r" not in err and "\x1b" not in err


def test_json_prints_the_finished_prediction(cli: Run, api: FakeAPI) -> None:
    status, out, err = cli("run", "acme/hello", "text=bob", "--json")
    assert status == 0, err
    data = json.loads(out)
    assert data["id"] == PID
    assert data["status"] == "succeeded"
    assert data["output"] == "hello bob"


def test_no_wait_prints_the_id_at_once(cli: Run, api: FakeAPI) -> None:
    status, out, err = cli("run", "acme/hello", "text=bob", "--no-wait")
    assert status == 0, err
    assert out == f"{PID}\n"
    assert api.polls == 0
    status, out, _ = cli("run", "acme/hello", "text=bob", "--no-wait", "--json")
    assert json.loads(out)["status"] == "starting"


def test_file_outputs_are_saved_into_the_output_directory(
    httpserver: HTTPServer, cli: Run, api: FakeAPI, tmp_path: Path
) -> None:
    png = b"\x89PNG\r\n\x1a\nfake image"
    httpserver.expect_request("/files/out.png").respond_with_data(png, content_type="image/png")
    httpserver.expect_request("/files/b/out.png").respond_with_data(b"second")
    api.states = [
        api.prediction(
            "succeeded",
            output=[httpserver.url_for("/files/out.png"), httpserver.url_for("/files/b/out.png")],
        )
    ]
    target = tmp_path / "results"
    status, out, err = cli("run", "acme/hello", "text=bob", "-o", str(target))
    assert status == 0, err
    assert out.splitlines() == [str(target / "out.png"), str(target / "out-1.png")]
    assert (target / "out.png").read_bytes() == png
    assert (target / "out-1.png").read_bytes() == b"second"


def test_a_file_output_on_an_unknown_host_is_saved_when_the_schema_says_uri(
    httpserver: HTTPServer, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    api = FakeAPI(httpserver, schema_with_output({"type": "string", "format": "uri"}))
    # 127.0.0.1 is the API's origin here; "localhost" is another host to the SDK.
    url = httpserver.url_for("/files/cat.webp").replace("127.0.0.1", "localhost")
    httpserver.expect_request("/files/cat.webp").respond_with_data(b"meow")
    api.states = [api.prediction("succeeded", output=url)]
    status = main(["--base-url", api.url, "run", "acme/hello", "text=x", "-o", str(tmp_path)])
    out, err = capsys.readouterr()
    assert status == 0, err
    assert out == f"{tmp_path / 'cat.webp'}\n"
    assert (tmp_path / "cat.webp").read_bytes() == b"meow"


def test_a_file_input_is_uploaded_and_its_url_sent(
    httpserver: HTTPServer, cli: Run, api: FakeAPI, tmp_path: Path
) -> None:
    uploads: list[bytes] = []

    def files(request: WRequest) -> WResponse:
        uploads.append(request.files["content"].read())
        body = {"id": "f1", "urls": {"get": "https://api.replicate.com/v1/files/f1"}}
        return WResponse(json.dumps(body), status=201, content_type="application/json")

    httpserver.expect_request("/v1/files", method="POST").respond_with_handler(files)
    picture = tmp_path / "in.png"
    picture.write_bytes(b"pixels")
    status, _, err = cli("run", "acme/hello", "text=bob", f"image=@{picture}")
    assert status == 0, err
    assert uploads == [b"pixels"]
    assert api.creates[0]["input"]["image"] == "https://api.replicate.com/v1/files/f1"


def test_json_inputs_are_sent_as_written(cli: Run, api: FakeAPI) -> None:
    status, _, err = cli("run", "acme/hello", 'text:="@home"', "sizes:=[4, 5]")
    assert status == 0, err
    assert api.creates[0]["input"] == {"text": "@home", "sizes": [4, 5]}


def test_ctrl_c_cancels_the_prediction_and_exits_130(
    cli: Run, api: FakeAPI, monkeypatch: pytest.MonkeyPatch
) -> None:
    from replicate.cli import _progress

    api.states = [api.prediction("processing")]
    real = _progress.Display.update

    def update(self: _progress.Display, prediction: Any) -> None:
        real(self, prediction)
        if prediction.status == "processing":
            raise KeyboardInterrupt

    monkeypatch.setattr(_progress.Display, "update", update)
    status, out, err = cli("run", "acme/hello", "text=bob")
    assert (status, out) == (130, "")
    assert err.strip().splitlines()[-1] == f"replicate: interrupted; canceled prediction {PID}"
    assert api.cancels >= 1


# --- stream ---------------------------------------------------------------------------------


def test_stream_prints_tokens_as_they_arrive(
    httpserver: HTTPServer, cli: Run, api: FakeAPI
) -> None:
    events = (
        "event: logs\ndata: warming up\n\n"
        "event: output\ndata: hel\n\n"
        "event: output\ndata: lo\n\n"
        "event: done\ndata: {}\n\n"
    )
    httpserver.expect_request(f"/stream/{PID}").respond_with_data(
        events, content_type="text/event-stream"
    )
    stream_url = httpserver.url_for(f"/stream/{PID}")
    original = api.prediction

    def with_stream(status: str, **fields: Any) -> dict[str, Any]:
        body = original(status, **fields)
        body["urls"]["stream"] = stream_url
        return body

    api.prediction = with_stream  # type: ignore[method-assign]
    for argv in (
        ["stream", "acme/hello", "text=bob"],
        ["run", "--stream", "acme/hello", "text=bob"],
    ):
        status, out, err = cli(*argv)
        assert status == 0, err
        assert out == "hello\n"
        assert "warming up" in err
    status, out, _ = cli("stream", "acme/hello", "text=bob", "--json")
    assert [json.loads(line) for line in out.splitlines()][1:3] == [
        {"event": "output", "data": "hel"},
        {"event": "output", "data": "lo"},
    ]


# --- predictions and models -----------------------------------------------------------------


def test_predictions_get_list_and_cancel(httpserver: HTTPServer, cli: Run, api: FakeAPI) -> None:
    api.states = [api.prediction("succeeded", output="hello bob")]
    httpserver.expect_request("/v1/predictions", method="GET").respond_with_json(
        {
            "results": [api.prediction("succeeded"), dict(api.prediction("failed"), id="p0")],
            "next": None,
        }
    )
    status, out, err = cli("predictions", "get", PID)
    assert status == 0, err
    assert "status: succeeded" in out.splitlines()
    assert "output: hello bob" in out.splitlines()
    status, out, _ = cli("predictions", "get", PID, "--json")
    assert json.loads(out)["output"] == "hello bob"
    status, out, _ = cli("predictions", "list")
    assert [line.split()[:2] for line in out.splitlines()] == [
        [PID, "succeeded"],
        ["p0", "failed"],
    ]
    status, out, _ = cli("predictions", "list", "--limit", "1", "--json")
    assert [p["id"] for p in json.loads(out)] == [PID]
    status, out, _ = cli("predictions", "cancel", PID)
    assert (status, out) == (0, f"prediction {PID}: canceled\n")
    assert api.cancels == 1


def test_models_get_list_and_schema(httpserver: HTTPServer, cli: Run, api: FakeAPI) -> None:
    httpserver.expect_request("/v1/models", method="GET").respond_with_json(
        {"results": [{"owner": "acme", "name": "hello", "description": "Says hello"}], "next": None}
    )
    status, out, err = cli("models", "get", "acme/hello")
    assert status == 0, err
    assert out.splitlines()[:2] == ["acme/hello", "  Says hello"]
    assert f"latest version: {VERSION_ID}" in out
    assert json.loads(cli("models", "get", "acme/hello", "--json")[1])["run_count"] == 42
    assert cli("models", "list")[1] == "acme/hello  Says hello\n"
    status, out, _ = cli("models", "schema", "acme/hello")
    assert status == 0
    lines = out.splitlines()
    assert lines[0] == f"acme/hello version {VERSION_ID}"
    assert "  text: string; required" in lines
    assert "      Who to greet" in lines
    assert "  steps: integer; default 20; 1 to 50" in lines
    assert '  scheduler: string; default "fast"; one of "fast", "slow"' in lines
    assert "  sizes: array of integer" in lines
    assert "  image: file (URL; key=@path uploads one)" in lines
    assert lines[-2:] == ["Output:", "  string"]
    status, out, _ = cli("models", "schema", f"acme/hello:{VERSION_ID}", "--json")
    assert json.loads(out) == SCHEMA


def test_an_api_error_is_one_line_with_its_status_and_detail(
    httpserver: HTTPServer, cli: Run
) -> None:
    httpserver.expect_request("/v1/models/acme/nope").respond_with_json(
        {"title": "Not found", "detail": "No such model: acme/nope", "status": 404}, status=404
    )
    for argv in (["models", "get", "acme/nope"], ["run", "acme/nope", "x=1"]):
        status, out, err = cli(*argv)
        assert status == 1
        assert out == ""
        assert one_line(err) == (
            "replicate: GET /v1/models/acme/nope returned 404: No such model: acme/nope"
        )


def test_a_connection_failure_is_one_line(cli: Run) -> None:
    status, _, err = cli("--base-url", "http://127.0.0.1:9/v1", "models", "get", "a/b", base=False)
    assert status == 1
    assert one_line(err).startswith("replicate: ")


# --- tokens, usage, help --------------------------------------------------------------------


def test_token_stdin_reads_one_line(
    cli: Run, api: FakeAPI, monkeypatch: pytest.MonkeyPatch
) -> None:
    import io

    monkeypatch.delenv("REPLICATE_API_TOKEN")
    monkeypatch.setattr("sys.stdin", io.StringIO("r8_fromStdin\nsecond line\n"))
    status, _, err = cli("--token-stdin", "run", "acme/hello", "text=bob")
    assert status == 0, err
    assert set(api.auth) == {"Bearer r8_fromStdin"}


def test_token_stdin_with_nothing_on_stdin_is_a_usage_error(
    cli: Run, api: FakeAPI, monkeypatch: pytest.MonkeyPatch
) -> None:
    import io

    monkeypatch.setattr("sys.stdin", io.StringIO(""))
    status, _, err = cli("models", "get", "acme/hello", "--token-stdin")
    assert status == 2
    assert one_line(err) == "replicate: --token-stdin: no token on stdin"


def test_there_is_no_token_option(cli: Run) -> None:
    status, _, err = cli("--token", "r8_x", "models", "list")
    assert status == 2
    assert "unrecognized arguments: --token" in err or "invalid choice" in err


def test_no_token_anywhere_says_where_one_comes_from(
    cli: Run, api: FakeAPI, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("REPLICATE_API_TOKEN")
    status, _, err = cli("models", "get", "acme/hello")
    assert status == 1
    line = one_line(err)
    assert "REPLICATE_API_TOKEN" in line and "--token-stdin" in line
    assert "replicate auth login" in line


def test_an_unknown_transport_is_a_usage_error_listing_the_installed(cli: Run) -> None:
    status, _, err = cli("--transport", "carrier-pigeon", "models", "list")
    assert status == 2
    assert "'carrier-pigeon' is not an installed transport; installed: urllib3" in one_line(err)


def test_global_options_go_before_or_after_the_command(cli: Run, api: FakeAPI) -> None:
    status, out, err = cli("models", "get", "acme/hello", "--base-url", api.url, base=False)
    assert status == 0, err
    assert out.startswith("acme/hello\n")


@pytest.mark.parametrize(
    "argv",
    [
        [],
        ["run"],
        ["predictions"],
        ["predictions", "get"],
        ["models", "frobnicate"],
        ["run", "acme/hello", "--wait", "--no-wait"],
        ["run", "not a model", "x=1"],
        ["models", "get", "just-a-name"],
        ["predictions", "list", "--limit", "ten"],
    ],
)
def test_bad_usage_exits_2(cli: Run, argv: list[str]) -> None:
    status, out, err = cli(*argv)
    assert status == 2
    assert out == ""
    assert "Traceback" not in err


COMMANDS = [
    [],
    ["run"],
    ["stream"],
    ["predictions"],
    ["predictions", "list"],
    ["predictions", "get"],
    ["predictions", "cancel"],
    ["models"],
    ["models", "get"],
    ["models", "list"],
    ["models", "schema"],
    ["plugins"],
    ["auth"],
    ["auth", "login"],
    ["auth", "logout"],
]


@pytest.mark.parametrize("command", COMMANDS, ids=lambda c: " ".join(c) or "replicate")
def test_every_command_has_help(cli: Run, command: list[str]) -> None:
    status, out, err = cli(*command, "--help", base=False)
    assert status == 0, err
    assert out.startswith(f"usage: replicate{' ' if command else ''}{' '.join(command)}")
    assert "--base-url" in out  # the global options, everywhere


def test_plugins_lists_transports_and_auth(cli: Run) -> None:
    status, out, err = cli("plugins", base=False)
    assert status == 0, err
    assert "Transports:" in out and "urllib3 (sync) from replicate.builtin" in out
    assert "replicate auth login|logout:" in out
    status, out, _ = cli("plugins", "--json", base=False)
    data = json.loads(out)
    assert [t["name"] for t in data["transports"]] == ["urllib3"]
    assert data["cli"] == {"commands": {}, "auth": []}


def test_timeout_gives_up_and_cancels(cli: Run, api: FakeAPI) -> None:
    api.states = [api.prediction("processing")]
    status, out, err = cli("run", "acme/hello", "text=bob", "--timeout", "0.3", "-q")
    assert (status, out) == (1, "")
    line = one_line(err)
    assert line.startswith("replicate: ") and "canceled" in line
    assert api.cancels == 1


def test_ctrl_c_while_streaming_cancels_the_prediction(
    httpserver: HTTPServer, cli: Run, api: FakeAPI, monkeypatch: pytest.MonkeyPatch
) -> None:
    from replicate.cli import _progress

    httpserver.expect_request(f"/stream/{PID}").respond_with_data(
        "event: output\ndata: hel\n\nevent: logs\ndata: working\n\n",
        content_type="text/event-stream",
    )
    original = api.prediction

    def with_stream(status: str, **fields: Any) -> dict[str, Any]:
        body = original(status, **fields)
        body["urls"]["stream"] = httpserver.url_for(f"/stream/{PID}")
        return body

    api.prediction = with_stream  # type: ignore[method-assign]

    def interrupt(self: _progress.Display, text: str) -> None:
        raise KeyboardInterrupt

    monkeypatch.setattr(_progress.Display, "log", interrupt)
    status, out, err = cli("stream", "acme/hello", "text=bob")
    assert (status, out) == (130, "hel\n")
    assert err.splitlines() == [f"replicate: interrupted; canceled prediction {PID}"]
    assert api.cancels == 1
