"""The Linak bytes, checked against captures from real desks and by property."""

from __future__ import annotations

import contextlib

import pytest
from hypothesis import given
from hypothesis import strategies as st

from deskctl.drivers import linak_codec as codec
from deskctl.errors import ProtocolError


def test_uuids_follow_the_linak_pattern() -> None:
    assert codec.SERVICE_CONTROL == "99fa0001-338a-1024-8a49-009c0215f78a"
    assert codec.CHAR_REFERENCE_INPUT == "99fa0031-338a-1024-8a49-009c0215f78a"


@pytest.mark.parametrize(
    ("command", "wire"),
    [
        (codec.Command.UP, "47 00"),
        (codec.Command.DOWN, "46 00"),
        (codec.Command.STOP, "ff 00"),
        (codec.Command.WAKEUP, "fe 00"),
    ],
)
def test_commands(command: codec.Command, wire: str) -> None:
    assert codec.encode_command(command).hex(" ") == wire
    assert codec.decode_command(bytes.fromhex(wire)) is command


def test_reference_input_from_an_app_capture() -> None:
    assert codec.decode_reference(bytes.fromhex("2a16")) == pytest.approx(567.4)
    assert codec.encode_reference(567.4) == bytes.fromhex("2a16")
    assert codec.encode_reference_stop() == bytes.fromhex("0180")
    assert codec.decode_reference(bytes.fromhex("0180")) is None


def test_dpg_answers_from_captures() -> None:
    offset = codec.decode_dpg_response(bytes.fromhex("0103016618"))
    assert codec.decode_position(offset) == pytest.approx(624.6)
    memory = codec.decode_dpg_response(bytes.fromhex("010701880559 44e47b".replace(" ", "")))
    assert codec.decode_position(memory) == pytest.approx(141.6)
    unset = codec.decode_dpg_response(bytes.fromhex("010500000000"))
    assert codec.decode_position(unset) is None
    capabilities = codec.DpgCapabilities.decode(
        codec.decode_dpg_response(bytes.fromhex("01022301"))
    )
    assert capabilities == codec.DpgCapabilities(memory_slots=3, ble_allowed=True)


def test_dpg_requests() -> None:
    assert codec.encode_dpg_read(codec.DpgCommand.DESK_OFFSET).hex(" ") == "7f 81 00"
    write = codec.encode_dpg_write(codec.DpgCommand.USER_ID, codec.DESKCTL_USER_ID)
    assert write.hex(" ").startswith("7f 86 80 01 02 03")
    assert len(write) == 3 + 17
    request = codec.decode_dpg_request(write)
    assert request.command == codec.DpgCommand.USER_ID
    assert request.write
    assert codec.user_id_accepted(request.data)
    assert not codec.user_id_accepted(bytes(17))
    with pytest.raises(ProtocolError):
        codec.decode_dpg_response(bytes.fromhex("0b00"))


@given(st.floats(0, 6553.5), st.floats(-300, 300))
def test_height_speed_round_trip(above_base: float, speed: float) -> None:
    height, decoded_speed = codec.decode_height_speed(codec.encode_height_speed(above_base, speed))
    assert height == pytest.approx(above_base, abs=0.0501)
    assert decoded_speed == pytest.approx(speed, abs=0.005)


@given(st.floats(0, 3276.7))
def test_reference_round_trip(above_base: float) -> None:
    assert codec.decode_reference(codec.encode_reference(above_base)) == pytest.approx(
        above_base, abs=0.0501
    )


@given(
    st.builds(
        codec.DpgCapabilities,
        st.integers(0, 7),
        st.booleans(),
        st.booleans(),
        st.booleans(),
        st.booleans(),
        st.booleans(),
    )
)
def test_capabilities_round_trip(capabilities: codec.DpgCapabilities) -> None:
    assert codec.DpgCapabilities.decode(capabilities.encode()) == capabilities


@given(st.one_of(st.none(), st.floats(0, 6553.5)))
def test_position_round_trip(position: float | None) -> None:
    decoded = codec.decode_position(
        codec.decode_dpg_response(codec.encode_dpg_response(codec.encode_position(position)))
    )
    if position is None:
        assert decoded is None
    else:
        assert decoded == pytest.approx(position, abs=0.0501)


@given(st.binary(max_size=24))
def test_decoders_raise_only_protocol_errors(data: bytes) -> None:
    for decode in (
        codec.decode_command,
        codec.decode_height_speed,
        codec.decode_reference,
        codec.decode_dpg_request,
        codec.decode_dpg_response,
        codec.DpgCapabilities.decode,
        codec.decode_position,
    ):
        with contextlib.suppress(ProtocolError):
            decode(data)


def test_error_frames_from_a_dpg1m() -> None:
    assert codec.decode_error(bytes.fromhex("01003b")) == codec.ERROR_COLLISION
    assert codec.decode_error(bytes.fromhex("010010")) == codec.ERROR_INTERRUPTED
    assert codec.decode_error(b"") is None  # the empty frame that follows an error
    assert codec.decode_error(bytes.fromhex("010000")) is None
    assert codec.encode_error(codec.ERROR_COLLISION) == bytes.fromhex("01003b")
    assert codec.encode_error(None) == b""


def test_settings_codes_the_app_knows() -> None:
    assert {0x80, 0x81, 0x86, 0x89, 0x8C, 0xD8, 0xDF, 0xF5} <= codec.KNOWN_DPG_COMMANDS
    assert 0x42 not in codec.KNOWN_DPG_COMMANDS
    with pytest.raises(ProtocolError, match="refused"):
        codec.decode_dpg_response(codec.DPG_REFUSAL)
    assert codec.user_id_valid(codec.DESKCTL_USER_ID)
    assert not codec.user_id_valid(b"")
    assert not codec.user_id_valid(bytes(18))
