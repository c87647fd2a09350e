"""The wire format between the grader and its sandboxed child.

This file is used on both sides: the grader imports it as ``grader.sandbox.child.protocol``; the
child imports it as the top-level module ``protocol`` from a private copy.  It therefore uses
only the standard library (NumPy is imported lazily, to encode or decode arrays).

A *message* is a JSON object plus binary attachments.  On the wire it is a sequence of frames,
each ``kind (1 byte) | length (8 bytes, big endian) | payload``:

* ``J``: the JSON text (UTF-8) of a message whose attachments follow;
* ``B``: one attachment (raw bytes, or an array in ``.npy`` form).

In the JSON, ``{"__ndarray__": i}`` stands for attachment ``i`` decoded with
``numpy.load(..., allow_pickle=False)`` (an object array, the only way to smuggle a pickle,
fails to load instead of executing), and ``{"__bytes__": i}`` for attachment ``i`` as bytes.
The grader never unpickles anything the child sends.

Commands from the grader are one JSON object per line (they never carry arrays).
"""

from __future__ import annotations

import io
import json
import os
import struct
from typing import Any, BinaryIO, Callable

HEADER = struct.Struct(">cQ")
JSON_FRAME = b"J"
BLOB_FRAME = b"B"


class ProtocolError(Exception):
    """The child sent something that is not a well-formed message."""


# --- encoding (child side) ------------------------------------------------------------------

def _encode_value(value: Any, blobs: list[bytes]) -> Any:
    if isinstance(value, (bytes, bytearray, memoryview)):
        blobs.append(bytes(value))
        return {"__bytes__": len(blobs) - 1}
    if isinstance(value, dict):
        return {str(k): _encode_value(v, blobs) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_encode_value(v, blobs) for v in value]
    if value is None or isinstance(value, (bool, int, float, str)):
        return value
    module = type(value).__module__
    if module == "numpy":
        import numpy as np

        if isinstance(value, np.ndarray):
            if value.dtype == object:
                raise TypeError("object arrays cannot be sent")
            buffer = io.BytesIO()
            np.save(buffer, value, allow_pickle=False)
            blobs.append(buffer.getvalue())
            return {"__ndarray__": len(blobs) - 1}
        if isinstance(value, np.generic):
            return value.item()
    raise TypeError(f"cannot send a {type(value).__name__}")


def encode(message: dict[str, Any]) -> bytes:
    """Frames for one message: its JSON, then its attachments."""
    blobs: list[bytes] = []
    body = json.dumps(_encode_value(message, blobs), allow_nan=True).encode("utf-8")
    parts = [HEADER.pack(JSON_FRAME, len(body)), body]
    for blob in blobs:
        parts += [HEADER.pack(BLOB_FRAME, len(blob)), blob]
    return b"".join(parts)


def write_message(fd: int, message: dict[str, Any]) -> None:
    """Write one message to a file descriptor, completely (a pipe may accept it in pieces)."""
    data = memoryview(encode(message))
    while data:
        written = os.write(fd, data)
        data = data[written:]


# --- decoding (grader side) -----------------------------------------------------------------

def _decode_value(value: Any, blobs: list[bytes]) -> Any:
    if isinstance(value, dict):
        if set(value) == {"__ndarray__"}:
            import numpy as np

            array = np.load(io.BytesIO(_blob(blobs, value["__ndarray__"])), allow_pickle=False)
            return array
        if set(value) == {"__bytes__"}:
            return _blob(blobs, value["__bytes__"])
        return {k: _decode_value(v, blobs) for k, v in value.items()}
    if isinstance(value, list):
        return [_decode_value(v, blobs) for v in value]
    return value


def _blob(blobs: list[bytes], index: Any) -> bytes:
    if not isinstance(index, int) or not 0 <= index < len(blobs):
        raise ProtocolError(f"reference to a missing attachment {index!r}")
    return blobs[index]


def _count_refs(value: Any) -> int:
    if isinstance(value, dict):
        if set(value) in ({"__ndarray__"}, {"__bytes__"}):
            return 1
        return sum(_count_refs(v) for v in value.values())
    if isinstance(value, list):
        return sum(_count_refs(v) for v in value)
    return 0


class MessageReader:
    """Reassembles messages from a byte stream, refusing anything malformed or oversized.

    ``feed`` bytes as they arrive; complete messages are passed to ``on_message``.  A message
    and its attachments may total at most ``limit`` bytes.
    """

    def __init__(self, on_message: Callable[[dict[str, Any]], None], limit: int) -> None:
        self._buffer = bytearray()
        self._on_message = on_message
        self._limit = limit
        self._pending: Any = None
        self._blobs: list[bytes] = []
        self._expected = 0
        self._size = 0

    def feed(self, data: bytes) -> None:
        self._buffer += data
        while len(self._buffer) >= HEADER.size:
            kind, length = HEADER.unpack_from(self._buffer)
            if kind not in (JSON_FRAME, BLOB_FRAME):
                raise ProtocolError(f"unknown frame kind {kind!r}")
            if self._size + length > self._limit:
                raise ProtocolError(f"message larger than {self._limit} bytes")
            if len(self._buffer) < HEADER.size + length:
                return
            payload = bytes(self._buffer[HEADER.size:HEADER.size + length])
            del self._buffer[:HEADER.size + length]
            self._size += length
            self._frame(kind, payload)

    def _frame(self, kind: bytes, payload: bytes) -> None:
        if kind == JSON_FRAME:
            if self._pending is not None:
                raise ProtocolError("a message arrived before the previous one's attachments")
            try:
                body = json.loads(payload.decode("utf-8"))
            except (UnicodeDecodeError, ValueError) as err:
                raise ProtocolError(f"message is not JSON: {err}") from None
            if not isinstance(body, dict):
                raise ProtocolError("message is not a JSON object")
            self._pending, self._blobs, self._expected = body, [], _count_refs(body)
        else:
            if self._pending is None:
                raise ProtocolError("an attachment arrived without a message")
            self._blobs.append(payload)
        if self._pending is not None and len(self._blobs) == self._expected:
            body, blobs = self._pending, self._blobs
            self._pending, self._blobs, self._size = None, [], 0
            try:
                message = _decode_value(body, blobs)
            except ProtocolError:
                raise
            except Exception as err:  # np.load refusing a pickle, a corrupt .npy, ...
                raise ProtocolError(f"undecodable attachment: {err}") from None
            self._on_message(message)


def read_commands(stream: BinaryIO) -> Any:
    """Yield the grader's commands, one JSON object per line, until the pipe closes."""
    for line in stream:
        line = line.strip()
        if line:
            yield json.loads(line.decode("utf-8"))
