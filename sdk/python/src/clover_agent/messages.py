"""The wire protocol's messages: their schemas and framing (docs/protocol.md).

:func:`decode_all` reads a ZeroMQ message as the DEALER receives it and :func:`encode` /
:func:`encode_batch` build one. The checks are those of the reference's zod schemas
(``packages/protocol/src/messages.ts``), held to them by the shared wire vectors in
``testdata/wire-vectors``: unknown fields are stripped, defaults filled in, bounds counted in
UTF-16 code units and UTF-8 bytes.
"""

from __future__ import annotations

import json
import math
import re
from dataclasses import dataclass
from typing import Any, Callable, Final, Literal

from .limits import LIMITS, MAX_BODIES, MAX_BODY_BYTES, PROTOCOL_VERSION, truncate_field, utf16_len

MessageType = Literal["HELLO", "EXEC", "ACK", "START", "RESULT", "OUTPUT", "CANCEL", "PING", "PONG", "BYE"]
Body = dict[str, Any]

#: How much of a refused body's own ``error`` text a ProtocolError keeps (as the reference).
REPORTED_ERROR_CHARS: Final = 1000
_MAX_SAFE_INTEGER: Final = 2**53 - 1
# JavaScript's String.prototype.trim: WhiteSpace and LineTerminator (ECMA-262), not Python's isspace.
_JS_SPACE: Final = "\t\n\v\f\r \u00a0\u1680\u2000\u2001\u2002\u2003\u2004\u2005\u2006\u2007\u2008\u2009\u200a\u2028\u2029\u202f\u205f\u3000\ufeff"

ProtocolErrorCode = Literal["frames", "version", "type", "size", "json", "schema"]


class ProtocolError(Exception):
    """A frame that is not a clover message: logged and dropped by the receiver. For a body that
    was JSON of a known type but failed its schema, ``message_type``, ``exec_id`` (when readable)
    and ``reported_error`` (the start of its own ``error``) say which execution it was about."""

    def __init__(
        self,
        code: ProtocolErrorCode,
        message: str,
        message_type: str | None = None,
        exec_id: str | None = None,
        reported_error: str | None = None,
    ) -> None:
        super().__init__(message)
        self.code: ProtocolErrorCode = code
        self.message_type = message_type
        self.exec_id = exec_id
        self.reported_error = reported_error


class SchemaError(Exception):
    """A body that does not match its type's schema; ``path`` names the field."""

    def __init__(self, path: str, message: str) -> None:
        super().__init__(f"{path or '(body)'}: {message}")


@dataclass(frozen=True)
class Message:
    """One protocol message: its type and its checked body."""

    type: MessageType
    body: Body


# --- field checks ----------------------------------------------------------------------------

Check = Callable[[Any, str], Any]
_MISSING: Final = object()


def _string(max_chars: int | None = None, min_chars: int = 0) -> Check:
    def check(v: Any, path: str) -> Any:
        if not isinstance(v, str):
            raise SchemaError(path, "expected a string")
        n = utf16_len(v)
        if max_chars is not None and n > max_chars:
            raise SchemaError(path, f"at most {max_chars} characters (UTF-16 code units)")
        if n < min_chars:
            raise SchemaError(path, "must not be empty")
        return v

    return check


def _non_empty_trimmed(v: Any, path: str) -> Any:
    if not isinstance(v, str):
        raise SchemaError(path, "expected a string")
    v = v.strip(_JS_SPACE)
    if not v:
        raise SchemaError(path, "must not be empty")
    return v


def _number(v: Any, path: str) -> float | int:
    # bool is an int in Python, never a JSON number.
    if isinstance(v, bool) or not isinstance(v, (int, float)) or (isinstance(v, float) and not math.isfinite(v)):
        raise SchemaError(path, "expected a number")
    return v


def _integer(minimum: int | None = None, maximum: int | None = None) -> Check:
    def check(v: Any, path: str) -> Any:
        n = _number(v, path)
        if isinstance(n, float):
            if not n.is_integer():
                raise SchemaError(path, "expected an integer")
            n = int(n)
        if abs(n) > _MAX_SAFE_INTEGER:
            raise SchemaError(path, "expected a safe integer")
        if minimum is not None and n < minimum:
            raise SchemaError(path, f"at least {minimum}")
        if maximum is not None and n > maximum:
            raise SchemaError(path, f"at most {maximum}")
        return n

    return check


def _boolean(v: Any, path: str) -> Any:
    if not isinstance(v, bool):
        raise SchemaError(path, "expected a boolean")
    return v


def _enum(*values: str) -> Check:
    def check(v: Any, path: str) -> Any:
        if not isinstance(v, str) or v not in values:
            raise SchemaError(path, f"one of {', '.join(values)}")
        return v

    return check


def _array(item: Check, max_items: int | None = None) -> Check:
    def check(v: Any, path: str) -> Any:
        if not isinstance(v, list):
            raise SchemaError(path, "expected an array")
        if max_items is not None and len(v) > max_items:
            raise SchemaError(path, f"at most {max_items} items")
        return [item(x, f"{path}.{i}") for i, x in enumerate(v)]

    return check


def _record_of_strings(v: Any, path: str) -> Any:
    if not isinstance(v, dict):
        raise SchemaError(path, "expected an object")
    return {k: _string()(x, f"{path}.{k}") for k, x in v.items()}


def _nullable(check: Check) -> Check:
    return lambda v, path: None if v is None else check(v, path)


def _any(v: Any, path: str) -> Any:
    return v


_URL = re.compile(r"^https?:[^\s]*$")


def _http_url(v: Any, path: str) -> Any:
    # The reference: a WHATWG URL whose text starts with http: or https: (case-sensitive).
    if not isinstance(v, str) or not _URL.match(v) or re.match(r"^https?://(/|$|[?#])", v):
        raise SchemaError(path, "must be an http(s) URL")
    return v


Field = tuple[Check, Literal["required", "optional"] | tuple[Literal["default"], Any]]


def _object(fields: dict[str, Field]) -> Check:
    """An object with these fields, unknown ones stripped; a default fills an absent key."""

    def check(v: Any, path: str) -> Any:
        if not isinstance(v, dict):
            raise SchemaError(path, "expected an object")
        out: dict[str, Any] = {}
        for key, (field, presence) in fields.items():
            sub = f"{path}.{key}" if path else key
            value = v.get(key, _MISSING)
            if value is _MISSING:
                if presence == "required":
                    raise SchemaError(sub, "required")
                if isinstance(presence, tuple):
                    out[key] = json.loads(json.dumps(presence[1]))
                continue
            out[key] = field(value, sub)
        return out

    return check


R: Final = "required"
O: Final = "optional"
_id = _string(LIMITS.ID_CHARS, 1)
_name = _string(LIMITS.NAME_CHARS)
_epoch_ms = _integer(0)

_STATUS_PART: Final = re.compile(r"^\s*(\d{3})\s*(?:-\s*(\d{3})\s*)?$", re.ASCII)


def _expect_status(v: Any, path: str) -> Any:
    """An HTTP job's expected statuses: codes (100-599) and ranges, comma separated (docs/protocol.md, EXEC)."""
    _string(200)(v, path)
    for part in v.split(","):
        m = _STATUS_PART.match(part)
        first = int(m.group(1)) if m else 0
        last = int(m.group(2)) if m and m.group(2) else first
        if not m or first < 100 or last > 599 or first > last:
            raise SchemaError(path, "expected statuses are codes and ranges, comma separated: 200-299, 200,204")
    return v


_KINDS: Final[dict[str, Check]] = {
    "handler": _object({"type": (_any, R), "name": (_non_empty_trimmed, R)}),
    "shell": _object(
        {
            "type": (_any, R),
            "command": (_non_empty_trimmed, R),
            "args": (_array(_string()), ("default", [])),
            "env": (_record_of_strings, ("default", {})),
            "cwd": (_string(), O),
        }
    ),
    "http": _object(
        {
            "type": (_any, R),
            "method": (_enum("GET", "POST", "PUT", "PATCH", "DELETE", "HEAD"), ("default", "GET")),
            "url": (_http_url, R),
            "headers": (_record_of_strings, ("default", {})),
            "body": (_string(), O),
            "expectStatus": (_expect_status, O),
        }
    ),
}


def _kind(v: Any, path: str) -> Any:
    type_ = v.get("type") if isinstance(v, dict) else None
    kind = _KINDS.get(type_) if isinstance(type_, str) else None
    if kind is None:
        raise SchemaError(f"{path}.type", "one of handler, shell, http")
    return kind(v, path)


def _utf8_bounded(max_bytes: int, what: str) -> Check:
    def check(v: Any, path: str) -> Any:
        if not isinstance(v, str):
            raise SchemaError(path, "expected a string")
        if len(v.encode("utf-8", "surrogatepass")) > max_bytes:
            raise SchemaError(path, f"{what} over {max_bytes} bytes")
        return v

    return check


_output_tail = _utf8_bounded(LIMITS.OUTPUT_TAIL_BYTES, "output tail")


_ping = _object({"nonce": (_string(LIMITS.NONCE_CHARS), R), "sentAt": (_epoch_ms, R)})
# Executions running on an agent that other dispatch-servers sent it (docs/protocol.md, Several
# servers): said by an agent of every server; this SDK's agent serves the leader alone and omits it.
_running_for_others = _integer(0, LIMITS.CAPACITY)
_pong = _object(
    {"nonce": (_string(LIMITS.NONCE_CHARS), R), "sentAt": (_epoch_ms, R), "runningForOthers": (_running_for_others, O)}
)

SCHEMAS: Final[dict[str, Check]] = {
    "HELLO": _object(
        {
            "agentId": (_id, R),
            "version": (_string(LIMITS.VERSION_CHARS), R),
            "handlers": (_array(_name, LIMITS.HANDLERS), R),
            "capacity": (_integer(1, LIMITS.CAPACITY), R),
            "running": (_array(_id, LIMITS.CAPACITY), R),
            "groups": (_array(_name, LIMITS.LABELS), R),
            "tags": (_array(_name, LIMITS.LABELS), R),
            "shell": (_boolean, R),
            "http": (_boolean, R),
            "batch": (_boolean, O),
            "orphansKilled": (_array(_id, LIMITS.ORPHANS_KILLED), O),
            "resultsRepeated": (_boolean, O),
            "startedAt": (_epoch_ms, O),
            "allServers": (_boolean, O),
            "runningForOthers": (_running_for_others, O),
        }
    ),
    "EXEC": _object(
        {
            "execId": (_id, R),
            "jobId": (_id, R),
            "jobName": (_name, R),
            "attempt": (_integer(1), R),
            "kind": (_kind, R),
            "payload": (_any, R),
            "timeoutMs": (_integer(1), R),
            "deadline": (_epoch_ms, R),
            "scheduledAt": (_epoch_ms, R),
            "agentStartedAt": (_epoch_ms, O),
        }
    ),
    "ACK": _object(
        {
            "execId": (_id, R),
            "accepted": (_boolean, R),
            "reason": (_enum("duplicate", "no_handler", "at_capacity", "unsupported", "draining", "other_life", "not_leader"), O),
            "startedAt": (_epoch_ms, O),
            "runningForOthers": (_running_for_others, O),
        }
    ),
    "START": _object({"execId": (_id, R), "startedAt": (_epoch_ms, R)}),
    "RESULT": _object(
        {
            "execId": (_id, R),
            "status": (_enum("succeeded", "failed", "timed_out", "cancelled"), R),
            "exitCode": (_nullable(_integer()), R),
            "startedAt": (_epoch_ms, R),
            "finishedAt": (_epoch_ms, R),
            "outputTail": (_output_tail, R),
            "error": (_nullable(_string(LIMITS.ERROR_CHARS)), R),
            "runningForOthers": (_running_for_others, O),
        }
    ),
    "OUTPUT": _object(
        {
            "execId": (_id, R),
            "seq": (_integer(1, LIMITS.OUTPUT_SEQ_MAX), R),
            "chunk": (_utf8_bounded(LIMITS.OUTPUT_CHUNK_BYTES, "output chunk"), R),
        }
    ),
    "CANCEL": _object({"execId": (_id, R), "reason": (_enum("timeout", "replaced", "requested", "shutdown"), R)}),
    "PING": _ping,
    "PONG": _pong,
    "BYE": _object({"reason": (_string(LIMITS.REASON_CHARS), R)}),
}


def peek_exec_id(value: Any) -> str | None:
    """The ``execId`` of a parsed body that may not pass its schema: a string of 1 to
    ``LIMITS.ID_CHARS`` UTF-16 code units in a JSON object, else None."""
    exec_id = value.get("execId") if isinstance(value, dict) else None
    return exec_id if isinstance(exec_id, str) and 1 <= utf16_len(exec_id) <= LIMITS.ID_CHARS else None


def _reject_constant(name: str) -> Any:
    raise ValueError(f"{name} is not JSON")


def _parse_json(data: bytes) -> Any:
    # As JSON.parse after Buffer.toString('utf8'): bad UTF-8 reads as U+FFFD; NaN/Infinity are no JSON.
    return json.loads(data.decode("utf-8", "replace"), parse_constant=_reject_constant)


_VERSION_FRAME: Final = PROTOCOL_VERSION.encode()


def decode_all(frames: list[bytes]) -> tuple[list[Message], list[ProtocolError]]:
    """Every body of a message of one or several bodies, as ``(messages, dropped)``. A bad frame
    count, version or type raises :class:`ProtocolError` (the whole message is dropped); a bad body
    is dropped alone and named in ``dropped``."""
    if len(frames) < 3 or len(frames) > MAX_BODIES + 2:
        raise ProtocolError("frames", f"expected 3 to {MAX_BODIES + 2} frames, got {len(frames)}")
    version, type_frame = bytes(frames[0]), bytes(frames[1])
    if version != _VERSION_FRAME:
        raise ProtocolError("version", f'unsupported protocol version "{version[:16].decode("utf-8", "replace")}"')
    type_name = type_frame.decode("utf-8", "replace")
    schema = SCHEMAS.get(type_name)
    if schema is None:
        raise ProtocolError("type", f'unknown message type "{type_name[:32]}"')
    messages: list[Message] = []
    dropped: list[ProtocolError] = []
    for frame in frames[2:]:
        data = bytes(frame)
        if len(data) > MAX_BODY_BYTES:
            dropped.append(ProtocolError("size", f"body of {len(data)} bytes exceeds {MAX_BODY_BYTES}"))
            continue
        try:
            value = _parse_json(data)
        except ValueError:
            dropped.append(ProtocolError("json", f"{type_name} body is not JSON"))
            continue
        try:
            checked = schema(value, "")
        except SchemaError as err:
            exec_id = peek_exec_id(value)
            own = value.get("error") if isinstance(value, dict) else None
            reported = truncate_field(own, REPORTED_ERROR_CHARS) if isinstance(own, str) else None
            about = f" for {exec_id}" if exec_id else ""
            dropped.append(
                ProtocolError("schema", f"{type_name} body{about} does not match its schema: {err}", type_name, exec_id, reported)
            )
            continue
        messages.append(Message(type_name, checked))  # type: ignore[arg-type]  # a key of SCHEMAS
    return messages, dropped


def _body_bytes(body: Body) -> bytes:
    # Compact, and non-ASCII as UTF-8, as JSON.stringify writes it.
    return json.dumps(body, separators=(",", ":"), ensure_ascii=False).encode("utf-8", "surrogatepass")


def encode(message: Message) -> list[bytes]:
    """``[version, type, JSON body]``."""
    return [_VERSION_FRAME, message.type.encode(), _body_bytes(message.body)]


def encode_batch(messages: list[Message]) -> list[bytes]:
    """Messages of one type as one ZeroMQ message ``[version, type, body, …]``, for a peer that
    reads several bodies; 1 to MAX_BODIES of them, else ValueError."""
    if not messages or len(messages) > MAX_BODIES or any(m.type != messages[0].type for m in messages):
        raise ValueError(f"a batch is 1 to {MAX_BODIES} messages of one type")
    return [_VERSION_FRAME, messages[0].type.encode(), *(_body_bytes(m.body) for m in messages)]


def batches_of(messages: list[Message]) -> list[list[Message]]:
    """Consecutive messages of one type, at most MAX_BODIES a group, in order."""
    groups: list[list[Message]] = []
    for m in messages:
        if groups and len(groups[-1]) < MAX_BODIES and groups[-1][0].type == m.type:
            groups[-1].append(m)
        else:
            groups.append([m])
    return groups
