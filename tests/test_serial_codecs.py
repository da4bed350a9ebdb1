"""Jiecang and Loctek frames: published captures, round trips, and hostile lines."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from deskctl.drivers import jiecang_codec as jiecang
from deskctl.drivers import loctek_codec as loctek

# -- Jiecang ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("frame", "op", "payload"),
    [
        ("f1 f1 1b 02 04 6a 8b 7e", jiecang.Op.MOVE_TO, "04 6a"),  # 113.0 cm
        ("f1 f1 1b 02 02 ad cc 7e", jiecang.Op.MOVE_TO, "02 ad"),  # 68.5 cm
        ("f1 f1 2b 00 2b 7e", jiecang.Op.STOP, ""),
        ("f1 f1 00 00 00 7e", jiecang.Op.WAKE, ""),
    ],
)
def test_jiecang_host_frames_from_captures(frame: str, op: int, payload: str) -> None:
    assert jiecang.encode(op, bytes.fromhex(payload)).hex(" ") == frame
    parser = jiecang.FrameParser(header=jiecang.HOST_HEADER)
    assert parser.feed(bytes.fromhex(frame)) == [jiecang.Frame(op, bytes.fromhex(payload))]


def test_jiecang_move_to_and_replies() -> None:
    assert jiecang.move_to(1130) == bytes.fromhex("f1f11b02046a8b7e")
    parser = jiecang.FrameParser()
    (height,) = parser.feed(jiecang.encode_reply(jiecang.Reply.HEIGHT, bytes.fromhex("050607")))
    assert jiecang.decode_height(height.payload) == 1286
    (limits,) = parser.feed(jiecang.encode_reply(jiecang.Reply.LIMITS, bytes.fromhex("0514028a")))
    assert (jiecang.decode_height(limits.payload), jiecang.decode_height(limits.payload[2:])) == (
        1300,
        650,
    )


@pytest.mark.parametrize(
    ("code", "name"), [(1, "E01"), (13, "E13"), (0x0E, "H01"), (0x0F, "H02"), (0x10, "LOCK")]
)
def test_jiecang_error_names(code: int, name: str) -> None:
    assert jiecang.error_name(code) == name


@pytest.mark.parametrize(
    ("op", "payload", "whole"),
    [
        (jiecang.Reply.HEIGHT, "05 06 07", True),
        (jiecang.Reply.HEIGHT, "05 06", False),
        (jiecang.Reply.ERROR, "01", True),
        (jiecang.Reply.ERROR, "28 02", False),  # a damaged preset report posing as an error
        (jiecang.Reply.LIMITS, "05 14 02 8a", True),
        (jiecang.Reply.PRESET_3, "04 6a", True),
        (0x19, "00", True),  # a kind the driver does not act on passes
    ],
)
def test_jiecang_messages_of_the_wrong_length_are_not_well_formed(
    op: int, payload: str, whole: bool
) -> None:
    assert jiecang.well_formed(jiecang.Frame(op, bytes.fromhex(payload))) is whole


def test_payload_holding_the_end_byte_is_cut_by_length() -> None:
    frame = jiecang.encode_reply(jiecang.Reply.HEIGHT, bytes([0x7E, 0x7E, 0x07]))
    parser = jiecang.FrameParser()
    assert parser.feed(frame[:5]) == []
    assert parser.feed(frame[5:]) == [jiecang.Frame(jiecang.Reply.HEIGHT, b"\x7e\x7e\x07")]


# -- Loctek ----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("pressed", "frame"),
    [
        (loctek.Button.NONE, "9b 06 02 00 00 6c a1 9d"),
        (loctek.Button.UP, "9b 06 02 01 00 fc a0 9d"),
        (loctek.Button.DOWN, "9b 06 02 02 00 0c a0 9d"),
        (loctek.Button.PRESET_1, "9b 06 02 04 00 ac a3 9d"),
        (loctek.Button.PRESET_2, "9b 06 02 08 00 ac a6 9d"),
        (loctek.Button.PRESET_3, "9b 06 02 10 00 ac ac 9d"),
        (loctek.Button.PRESET_4, "9b 06 02 00 01 ac 60 9d"),
        (loctek.Button.MEMORY, "9b 06 02 20 00 ac b8 9d"),
        (loctek.Button.ALARM, "9b 06 02 40 00 ac 90 9d"),
    ],
)
def test_loctek_handset_frames_from_captures(pressed: loctek.Button, frame: str) -> None:
    assert loctek.buttons(pressed).hex(" ") == frame


@pytest.mark.parametrize(
    ("frame", "text", "number"),
    [
        ("9b 07 12 6f ef 3f 85 a8 9d", "99.0", 99.0),
        ("9b 07 12 07 cf 6f a5 30 9d", "73.9", 73.9),
    ],
)
def test_loctek_display_from_captures(frame: str, text: str, number: float) -> None:
    (decoded,) = loctek.FrameParser().feed(bytes.fromhex(frame))
    assert decoded.kind == loctek.Type.DISPLAY
    display = loctek.decode_display(decoded.payload)
    assert display.text == text
    assert display.number == number


@pytest.mark.parametrize(
    ("text", "number", "error"),
    [
        ("102", 102.0, None),
        ("E01", None, "E01"),
        ("r5t", None, None),  # rSt: the box asks for a reset
        ("5-1", None, None),
        ("   ", None, None),
        (" 45", 45.0, None),
    ],
)
def test_loctek_display_states(text: str, number: float | None, error: str | None) -> None:
    display = loctek.decode_display(loctek.encode_display(text))
    assert display.text == text
    assert display.number == number
    assert display.error == error


def test_seven_segment_six_in_both_spellings() -> None:
    assert loctek.decode_display(bytes([0x7C, 0x7D, 0x3F])).text == "660"


@pytest.mark.parametrize(
    ("mm", "inches", "shown"),
    [
        (739.0, False, "73.9"),
        (1023.0, False, "102"),
        (999.4, False, "99.9"),
        (999.6, False, "100"),
        (762.0, True, "30.0"),
    ],
)
def test_panel_resolution(mm: float, inches: bool, shown: str) -> None:
    assert loctek.display_text(mm, inches) == shown


def test_heartbeat_and_beeps_from_captures() -> None:
    frames = loctek.FrameParser().feed(bytes.fromhex("9b04117cc39d 9b04147f039d 9b0415bfc29d"))
    assert [f.kind for f in frames] == [
        loctek.Type.HEARTBEAT,
        loctek.Type.BEEP_ON,
        loctek.Type.BEEP_OFF,
    ]


# -- both parsers on a hostile line ----------------------------------------------------------

JIECANG_OPS = st.sampled_from([int(op) for op in jiecang.Reply])
payloads = st.binary(max_size=8)
# Noise and corrupted frames carry no header bytes, so that they cannot pose as frames.
noise_bytes = st.binary(max_size=12).map(lambda b: bytes(x for x in b if x not in (0xF2, 0x9B)))


@st.composite
def jiecang_line(draw: st.DrawFn) -> tuple[bytes, list[jiecang.Frame], int]:
    line, valid, corrupted = b"", [], 0
    for _ in range(draw(st.integers(0, 12))):
        kind = draw(st.sampled_from(["valid", "noise", "corrupt", "truncated"]))
        if kind == "valid":
            frame = jiecang.Frame(draw(JIECANG_OPS), draw(payloads))
            valid.append(frame)
            line += jiecang.encode_reply(frame.op, frame.payload)
        elif kind == "noise":
            line += draw(noise_bytes)
        else:
            payload = draw(noise_bytes)[:8]
            whole = bytearray(jiecang.encode_reply(draw(JIECANG_OPS), payload))
            if kind == "corrupt":
                whole[-2] ^= 0x01 + draw(st.integers(0, 0xFD))
            else:
                del whole[draw(st.integers(2, len(whole) - 1)) :]
            corrupted += kind == "corrupt"
            line += bytes(whole)
    return line + bytes(2 * jiecang.MAX_PAYLOAD + 8), valid, corrupted


@given(jiecang_line(), st.lists(st.integers(1, 7), min_size=1))
def test_jiecang_parser_survives_a_hostile_line(
    case: tuple[bytes, list[jiecang.Frame], int], chunks: list[int]
) -> None:
    line, valid, corrupted = case
    parser, got, at = jiecang.FrameParser(), [], 0
    for size in chunks * (len(line) // sum(chunks) + 1):
        got += parser.feed(line[at : at + size])
        at += size
    assert got == valid
    assert parser.stats.frames == len(valid)
    assert parser.stats.bad_checksums >= corrupted


@st.composite
def loctek_line(draw: st.DrawFn) -> tuple[bytes, list[loctek.Frame], int]:
    line, valid, corrupted = b"", [], 0
    for _ in range(draw(st.integers(0, 12))):
        kind = draw(st.sampled_from(["valid", "noise", "corrupt"]))
        if kind == "valid":
            frame = loctek.Frame(draw(st.sampled_from([0x02, 0x11, 0x12])), draw(payloads))
            valid.append(frame)
            line += loctek.encode(frame.kind, frame.payload)
        elif kind == "noise":
            line += draw(noise_bytes)
        else:
            whole = bytearray(loctek.encode(0x12, draw(noise_bytes)[:8]))
            whole[-2] ^= 0x01 + draw(st.integers(0, 0xFD))
            corrupted += 1
            line += bytes(whole)
    return line, valid, corrupted


@given(loctek_line(), st.lists(st.integers(1, 7), min_size=1))
def test_loctek_parser_survives_a_hostile_line(
    case: tuple[bytes, list[loctek.Frame], int], chunks: list[int]
) -> None:
    line, valid, corrupted = case
    parser, got, at = loctek.FrameParser(), [], 0
    for size in chunks * (len(line) // sum(chunks) + 1):
        got += parser.feed(line[at : at + size])
        at += size
    assert got == valid
    assert parser.stats.bad_checksums >= corrupted


@given(st.binary(max_size=200))
def test_random_bytes_never_raise(data: bytes) -> None:
    jiecang.FrameParser().feed(data)
    loctek.FrameParser().feed(data)
    loctek.decode_display(data[:3])
