"""The wire format between grader and child: round trips, and refusal of anything forged."""

from __future__ import annotations

import io
import pickle

import numpy as np
import pytest

from grader.sandbox.child.protocol import (
    BLOB_FRAME, HEADER, JSON_FRAME, MessageReader, ProtocolError, encode,
)


def collect(data: bytes, limit: int = 1 << 20, chunk: int | None = None) -> list[dict]:
    got: list[dict] = []
    reader = MessageReader(got.append, limit)
    step = chunk or len(data) or 1
    for i in range(0, len(data), step):
        reader.feed(data[i:i + step])
    return got


def test_round_trip_with_arrays_bytes_and_nesting_even_byte_by_byte():
    message = {"id": 3, "ok": True, "result": {
        "w": [np.arange(6.0).reshape(2, 3), np.eye(2, dtype=np.float32)],
        "png": b"\x89PNG...", "n": np.int64(7), "x": 1.5, "s": "\u738b"}}
    data = encode(message) + encode({"id": 4})
    for chunk in (None, 1, 7):
        first, second = collect(data, chunk=chunk)
        np.testing.assert_array_equal(first["result"]["w"][0], np.arange(6.0).reshape(2, 3))
        assert first["result"]["w"][1].dtype == np.float32
        assert first["result"]["png"] == b"\x89PNG..."
        assert first["result"]["n"] == 7 and first["result"]["s"] == "\u738b"
        assert second == {"id": 4}


def test_object_arrays_are_never_sent():
    with pytest.raises(TypeError, match="object arrays"):
        encode({"a": np.array([object()], dtype=object)})


def test_a_forged_pickle_in_an_array_frame_is_refused_not_executed(tmp_path):
    marker = tmp_path / "pwned"

    class Evil:
        def __reduce__(self):
            return (open, (str(marker), "w"))

    buffer = io.BytesIO()
    np.save(buffer, np.array([Evil()], dtype=object), allow_pickle=True)
    body = b'{"a": {"__ndarray__": 0}}'
    blob = buffer.getvalue()
    data = HEADER.pack(JSON_FRAME, len(body)) + body + HEADER.pack(BLOB_FRAME, len(blob)) + blob
    with pytest.raises(ProtocolError, match="undecodable attachment"):
        collect(data)
    assert not marker.exists()
    raw = pickle.dumps(Evil())
    data = HEADER.pack(JSON_FRAME, len(body)) + body + HEADER.pack(BLOB_FRAME, len(raw)) + raw
    with pytest.raises(ProtocolError):
        collect(data)
    assert not marker.exists()


@pytest.mark.parametrize("data,error", [
    (b"X" + bytes(8), "unknown frame kind"),
    (HEADER.pack(JSON_FRAME, 3) + b"[1]", "not a JSON object"),
    (HEADER.pack(JSON_FRAME, 4) + b"\xff{}x", "not JSON"),
    (HEADER.pack(BLOB_FRAME, 1) + b"x", "without a message"),
    (HEADER.pack(JSON_FRAME, 2**40), "larger than"),
])
def test_malformed_streams_are_protocol_errors(data, error):
    with pytest.raises(ProtocolError, match=error):
        collect(data)


def test_reference_to_a_missing_attachment_is_refused():
    body = b'{"a": {"__bytes__": 5}}'
    data = HEADER.pack(JSON_FRAME, len(body)) + body + HEADER.pack(BLOB_FRAME, 1) + b"x"
    with pytest.raises(ProtocolError, match="missing attachment"):
        collect(data)


def test_size_limit_counts_attachments_too():
    data = encode({"blob": bytes(5000)})
    assert collect(data, limit=6000)
    with pytest.raises(ProtocolError, match="larger than 4000"):
        collect(data, limit=4000)
