from __future__ import annotations

import random
import re

import msgspec
import pytest

from replicate._sse import EventType, ServerSentEvent, SSEDecoder


def parse(*chunks: bytes, flush: bool = True) -> list[ServerSentEvent]:
    decoder = SSEDecoder()
    events: list[ServerSentEvent] = []
    for chunk in chunks:
        events.extend(decoder.feed(chunk))
    if flush:
        events.extend(decoder.flush())
    return events


def ev(
    data: str, event: str = "message", id: str | None = None, retry: int | None = None
) -> ServerSentEvent:
    return ServerSentEvent(event=event, data=data, id=id, retry=retry)


def reference_parse(stream: bytes) -> tuple[list[ServerSentEvent], str | None, int | None]:
    """A direct, line-by-line transcription of the WHATWG event-stream rules."""
    text = stream.decode("utf-8", "replace")
    if text.startswith("\ufeff"):
        text = text[1:]
    lines = re.split("\r\n|\r|\n", text)
    lines.pop()  # not terminated: not a line
    events = []
    data_buf = ""
    event_type = ""
    last_id = ""
    retry = None
    block_retry = None
    for line in lines:
        if line == "":
            if data_buf:
                event = ServerSentEvent(
                    event_type or "message", data_buf[:-1], last_id or None, block_retry
                )
                events.append(event)
            data_buf = ""
            event_type = ""
            block_retry = None
            continue
        if line.startswith(":"):
            continue
        if ":" in line:
            name, _, value = line.partition(":")
            if value.startswith(" "):
                value = value[1:]
        else:
            name, value = line, ""
        if name == "event":
            event_type = value
        elif name == "data":
            data_buf += value + "\n"
        elif name == "id":
            if "\0" not in value:
                last_id = value
        elif name == "retry" and value and all(c in "0123456789" for c in value):
            retry = block_retry = int(value)
    return events, last_id or None, retry


REPLICATE_STREAM = (
    b": hi\n"
    b"event: output\nid: 1690212292:0\ndata: Hello\n\n"
    b"event: output\nid: 1690212292:1\ndata: , w\xc3\xb6rld \xf0\x9f\xa6\x99\n\n"
    b"event: logs\nid: 1690212292:2\ndata: line one\ndata: line two\n\n"
    b"retry: 2500\nevent: output\ndata:no-space\n\n"
    b'event: something-new\nid: 1690212292:3\ndata: {"x": 1}\n\n'
    b"event: done\nid: 1690212292:4\ndata: {}\n\n"
)
REPLICATE_EVENTS = [
    ev("Hello", "output", "1690212292:0"),
    ev(", wörld 🦙", "output", "1690212292:1"),
    ev("line one\nline two", "logs", "1690212292:2"),
    ev("no-space", "output", "1690212292:2", 2500),
    ev('{"x": 1}', "something-new", "1690212292:3"),
    ev("{}", "done", "1690212292:4"),
]


def test_replicate_stream_in_one_chunk() -> None:
    assert parse(REPLICATE_STREAM) == REPLICATE_EVENTS


def test_reference_parser_agrees_on_the_fixture() -> None:
    assert reference_parse(REPLICATE_STREAM)[0] == REPLICATE_EVENTS


@pytest.mark.parametrize("newline", [b"\n", b"\r\n", b"\r"], ids=["LF", "CRLF", "CR"])
def test_every_split_position(newline: bytes) -> None:
    stream = REPLICATE_STREAM.replace(b"\n", newline)
    for i in range(len(stream) + 1):
        assert parse(stream[:i], stream[i:]) == REPLICATE_EVENTS, i


@pytest.mark.parametrize("newline", [b"\n", b"\r\n", b"\r"], ids=["LF", "CRLF", "CR"])
def test_byte_at_a_time(newline: bytes) -> None:
    stream = REPLICATE_STREAM.replace(b"\n", newline)
    assert parse(*(stream[i : i + 1] for i in range(len(stream)))) == REPLICATE_EVENTS


@pytest.mark.parametrize("newline", [b"\n", b"\r\n", b"\r"], ids=["LF", "CRLF", "CR"])
def test_random_chunkings(newline: bytes) -> None:
    stream = REPLICATE_STREAM.replace(b"\n", newline)
    rng = random.Random(1234)
    for _ in range(300):
        cuts = sorted(rng.sample(range(1, len(stream)), rng.randint(1, 30)))
        chunks = [stream[a:b] for a, b in zip([0, *cuts], [*cuts, len(stream)], strict=True)]
        assert parse(*chunks) == REPLICATE_EVENTS, cuts


def test_fuzz_against_reference_parser() -> None:
    pieces = [
        b"data", b"data:", b"data: ", b"event", b"event: ", b"id", b"id: ", b"retry: ",
        b"retry:", b":", b": comment", b"x", b"output", b"12", b"\x00", b" ", b"  ", b":",
        b"\n", b"\n", b"\n", b"\r", b"\r\n", b"\n\n", b"\xc3\xa9", b"\xf0\x9f\xa6\x99",
        b"\xff", b"\xef\xbb\xbf", b"data: z\n\n", b"7",
    ]  # fmt: skip
    rng = random.Random(42)
    for _ in range(400):
        stream = b"".join(rng.choice(pieces) for _ in range(rng.randint(0, 40)))
        if rng.random() < 0.2:
            stream = b"\xef\xbb\xbf" + stream
        expected_events, expected_id, expected_retry = reference_parse(stream)
        for _ in range(4):
            cuts = sorted(rng.sample(range(len(stream) + 1), min(len(stream) + 1, 5)))
            chunks = [stream[a:b] for a, b in zip([0, *cuts], [*cuts, len(stream)], strict=True)]
            decoder = SSEDecoder()
            events = [e for chunk in chunks for e in decoder.feed(chunk)]
            assert decoder.flush() == []
            assert events == expected_events, (stream, cuts)
            assert decoder.last_event_id == expected_id, (stream, cuts)
            assert decoder.retry == expected_retry, (stream, cuts)


def test_events_are_returned_as_soon_as_complete() -> None:
    decoder = SSEDecoder()
    assert decoder.feed(b"data: a\n") == []
    assert decoder.feed(b"\n") == [ev("a")]
    assert decoder.feed(b"data: b\n\ndata: c\n\ndata: d") == [ev("b"), ev("c")]
    assert decoder.feed(b"\n\n") == [ev("d")]
    # A pure-CR stream dispatches on the second CR, without waiting for a possible LF.
    assert decoder.feed(b"data: e\r\r") == [ev("e")]
    assert decoder.feed(b"\ndata: f\r\r") == [ev("f")]  # that LF was a blank line


def test_crlf_split_between_chunks_is_one_line_ending() -> None:
    assert parse(b"data: a\r", b"\ndata: b\r", b"\n\r", b"\n") == [ev("a\nb")]
    assert parse(b"data: a\r", b"\n", b"\r", b"\n") == [ev("a")]


def test_mixed_line_endings() -> None:
    assert parse(b"data: a\r\ndata: b\rdata: c\n\r\ndata: d\r\r") == [ev("a\nb\nc"), ev("d")]


def test_multiline_data_is_joined_with_newlines() -> None:
    assert parse(b"data: a\ndata:\ndata: c\ndata\n\n") == [ev("a\n\nc\n")]
    assert parse(b"data: only\n\n") == [ev("only")]


def test_empty_data_line_dispatches_an_empty_event() -> None:
    assert parse(b"data\n\n", b"data:\n\n", b"data: \n\n") == [ev(""), ev(""), ev("")]


def test_no_data_no_event() -> None:
    assert parse(b"event: output\nid: 1\n\n") == []
    assert parse(b"\n\n\n\n") == []


def test_comments_are_ignored() -> None:
    assert parse(b": keep-alive\n\n:\ndata: x\n: in the middle\ndata: y\n\n") == [ev("x\ny")]


def test_only_one_space_after_the_colon_is_stripped() -> None:
    assert parse(b"data:  two\n\ndata:none\n\ndata:\tx\n\n") == [
        ev(" two"),
        ev("none"),
        ev("\tx"),
    ]


def test_colons_in_value() -> None:
    assert parse(b"data: a: b\n\ndata:a: b\n\ndata::\n\n") == [ev("a: b"), ev("a: b"), ev(":")]


def test_field_without_colon_and_unknown_fields() -> None:
    assert parse(b"event\ndata: x\n\n") == [ev("x")]
    assert parse(b"foo: bar\ndata : no\nDATA: no\nbaz\ndata: yes\n\n") == [ev("yes")]


def test_event_type() -> None:
    assert parse(b"event: output\ndata: x\n\n") == [ev("x", "output")]
    assert parse(b"event:logs\ndata: x\n\n") == [ev("x", "logs")]
    assert parse(b"event:\ndata: x\n\n") == [ev("x")]  # empty -> "message"
    # The last event field wins; the type does not leak into the next event.
    assert parse(b"event: a\nevent: b\ndata: x\n\ndata: y\n\n") == [ev("x", "b"), ev("y")]
    # A block without data dispatches nothing but still resets the type.
    assert parse(b"event: output\n\ndata: y\n\n") == [ev("y")]


def test_unknown_event_names_pass_through() -> None:
    events = parse(b"event: brand-new\ndata: 1\n\nevent: Output\ndata: 2\n\n")
    assert [e.event for e in events] == ["brand-new", "Output"]


def test_id_persists_and_resets() -> None:
    decoder = SSEDecoder()
    assert decoder.last_event_id is None
    events = decoder.feed(
        b"id: 1\ndata: a\n\n"
        b"data: b\n\n"  # keeps the last id
        b"id: 2\n\n"  # no data: no event, but the id changes
        b"data: c\n\n"
        b"id: bad\x00id\ndata: d\n\n"  # NUL: ignored
        b"id\ndata: e\n\n"  # empty: reset
    )
    assert [(e.data, e.id) for e in events] == [
        ("a", "1"),
        ("b", "1"),
        ("c", "2"),
        ("d", "2"),
        ("e", None),
    ]
    assert decoder.last_event_id is None
    decoder.feed(b"id: 1690212292:7\ndata: f\n\n")
    assert decoder.last_event_id == "1690212292:7"


def test_id_set_after_data_in_same_block_applies() -> None:
    assert parse(b"data: a\nid: 9\n\n") == [ev("a", id="9")]


def test_retry() -> None:
    decoder = SSEDecoder()
    assert decoder.retry is None
    events = decoder.feed(
        b"retry: 3000\ndata: a\n\n"
        b"data: b\n\n"
        b"retry: 10s\nretry: -1\nretry: 1.5\nretry:\nretry: \xef\xbc\x91\ndata: c\n\n"
        b"retry:42\n\n"
    )
    assert [(e.data, e.retry) for e in events] == [("a", 3000), ("b", None), ("c", None)]
    assert decoder.retry == 42


def test_bom_is_stripped_at_the_start_only() -> None:
    bom = b"\xef\xbb\xbf"
    assert parse(bom + b"data: x\n\n") == [ev("x")]
    assert parse(bom[:1], bom[1:2], bom[2:], b"data: x\n\n") == [ev("x")]
    assert parse(bom[:2], bom[2:] + b"data: x\n\n") == [ev("x")]
    # A second BOM is part of the field name, which is then unknown.
    assert parse(bom + bom + b"data: x\n\ndata: y\n\n") == [ev("y")]
    assert parse(b"data: x\n\n" + bom + b"data: y\n\n") == [ev("x")]


def test_utf8_split_inside_a_character() -> None:
    stream = "data: é🦙中\n\n".encode()
    for i in range(len(stream) + 1):
        assert parse(stream[:i], stream[i:]) == [ev("é🦙中")]


def test_invalid_utf8_is_replaced() -> None:
    assert parse(b"data: a\xffb\xe2\x82\n\n") == [ev("a\ufffdb\ufffd")]


def test_flush_discards_an_unterminated_event() -> None:
    decoder = SSEDecoder()
    assert decoder.feed(b"data: a\n\nid: 5\nretry: 100\ndata: partial\n") == [ev("a")]
    assert decoder.flush() == []
    # Complete id/retry lines of the dropped event still count, as in a browser.
    assert decoder.last_event_id == "5"
    assert decoder.retry == 100
    # An unterminated last line does not count at all.
    decoder.feed(b"id: 6")
    assert decoder.flush() == []
    assert decoder.last_event_id == "5"


def test_flush_without_final_blank_line_and_reuse_after_flush() -> None:
    decoder = SSEDecoder()
    assert decoder.feed(b"data: a\r\n") == []
    assert decoder.flush() == []
    assert decoder.flush() == []
    # A new (reconnected) stream: fresh buffer and BOM handling, same last id.
    assert decoder.feed(b"\xef\xbb\xbfid: 3\ndata: b\n\n") == [ev("b", id="3")]
    assert decoder.feed(b"data: c\n\n") == [ev("c", id="3")]


def test_accepts_bytearray_memoryview_and_empty_chunks() -> None:
    decoder = SSEDecoder()
    assert decoder.feed(b"") == []
    assert decoder.feed(bytearray(b"data: a\r")) == []
    assert decoder.feed(memoryview(b"\n\r\n")) == [ev("a")]
    assert decoder.feed(memoryview(b"data: b\r\r")) == [ev("b")]


def test_large_event_in_small_chunks() -> None:
    payload = "x" * 200_000
    stream = f"event: output\ndata: {payload}\ndata: {payload}\n\n".encode()
    chunks = [stream[i : i + 4096] for i in range(0, len(stream), 4096)]
    assert parse(*chunks) == [ev(payload + "\n" + payload, "output")]


def test_server_sent_event_object() -> None:
    event = ServerSentEvent("output", "token", "1:0")
    assert event == ServerSentEvent(event="output", data="token", id="1:0", retry=None)
    assert ServerSentEvent() == ServerSentEvent("message", "", None, None)
    with pytest.raises(AttributeError):
        event.data = "other"  # type: ignore[misc]
    assert hash(event) == hash(ServerSentEvent("output", "token", "1:0"))
    assert "token" in repr(event)
    assert msgspec.structs.asdict(event) == {
        "event": "output",
        "data": "token",
        "id": "1:0",
        "retry": None,
    }


def test_str_is_the_data_of_output_events_only() -> None:
    assert str(ServerSentEvent("output", "payload")) == "payload"
    for name in ("logs", "error", "done", "message", "whatever"):
        event = ServerSentEvent(name, "payload")
        assert str(event) == "" and event.data == "payload"
    tokens = parse(b"event: output\ndata: Hel\n\nevent: output\ndata: lo\n\n")
    assert "".join(str(e) for e in tokens) == "Hello"


def test_event_type_constants() -> None:
    assert (EventType.OUTPUT, EventType.LOGS, EventType.ERROR, EventType.DONE) == (
        "output",
        "logs",
        "error",
        "done",
    )
    assert EventType.MESSAGE == "message"
    events = parse(b'event: error\ndata: {"detail": "boom"}\n\nevent: done\ndata: {}\n\n')
    assert events[0].event == EventType.ERROR
    assert events[1].event == EventType.DONE
