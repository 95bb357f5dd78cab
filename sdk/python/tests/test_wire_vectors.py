"""The shared wire vectors (testdata/wire-vectors): this SDK decodes and bounds as the reference does."""

from __future__ import annotations

import base64
import json
from pathlib import Path
from typing import Any

import pytest

from clover_agent.limits import output_tail, truncate_field
from clover_agent.messages import ProtocolError, decode_all, encode, Message

VECTORS = Path(__file__).resolve().parents[3] / "testdata" / "wire-vectors"
FRAME_FILES = sorted(p for p in VECTORS.glob("*.json") if p.name != "sending.json")


def frame_bytes(frame: Any) -> bytes:
    if isinstance(frame, str):
        return base64.b64decode(frame)
    return b"".join(base64.b64decode(part) * times for part, times in frame["concat"])


def cases() -> list[Any]:
    out = []
    for path in FRAME_FILES:
        for v in json.loads(path.read_text(encoding="utf-8"))["vectors"]:
            out.append(pytest.param(v, id=f"{path.name}: {v['name']}"))
    return out


def test_the_vectors_are_there() -> None:
    assert len(FRAME_FILES) >= 4 and len(cases()) > 100


@pytest.mark.parametrize("vector", cases())
def test_frame_vector(vector: dict[str, Any]) -> None:
    frames = [frame_bytes(f) for f in vector["frames"]]
    expect = vector["expect"]
    if "rejected" in expect:
        with pytest.raises(ProtocolError) as caught:
            decode_all(frames)
        assert caught.value.code == expect["rejected"], vector["rule"]
        return
    messages, dropped = decode_all(frames)
    assert [{"type": m.type, "body": m.body} for m in messages] == expect["messages"], vector["rule"]
    got = []
    for d in dropped:
        entry: dict[str, Any] = {"code": d.code}
        if d.message_type is not None:
            entry["messageType"] = d.message_type
        if d.exec_id is not None:
            entry["execId"] = d.exec_id
        if d.reported_error is not None:
            entry["reportedError"] = d.reported_error
        got.append(entry)
    assert got == expect["dropped"], vector["rule"]
    # What decodes encodes to frames that decode to the same again.
    for m in messages:
        assert decode_all(encode(Message(m.type, m.body)))[0] == [m]


def test_sending_vectors() -> None:
    sending = json.loads((VECTORS / "sending.json").read_text(encoding="utf-8"))
    for c in sending["truncateField"]:
        assert truncate_field(c["text"], c["maxChars"]) == c["expect"], c["name"]
    for c in sending["outputTail"]:
        assert output_tail(c["text"], c["maxBytes"]) == c["expect"], c["name"]
