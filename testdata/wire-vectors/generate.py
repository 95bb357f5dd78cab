#!/usr/bin/env python3
"""Writes the wire test vectors (*.json beside this file) from the cases below.

The vectors are the shared contract of every clover agent and server implementation
(docs/protocol.md; README.md here says how to read them). A change to the protocol changes the
cases here first: edit, run `python3 testdata/wire-vectors/generate.py`, commit the JSON, then
make every implementation pass it. Expected values are written by hand from docs/protocol.md,
never computed by an implementation. Standard library only.
"""

from __future__ import annotations

import base64
import json
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
MiB = 1024 * 1024


def b64(data: bytes | str) -> str:
    return base64.b64encode(data.encode("utf-8") if isinstance(data, str) else data).decode("ascii")


def body(value: Any) -> str:
    """A body frame: `value` as compact JSON (non-ASCII kept as UTF-8), base64."""
    return b64(json.dumps(value, separators=(",", ":"), ensure_ascii=False))


def raw(text: str) -> str:
    """A body frame of exactly this text (for JSON that is malformed or spelled oddly)."""
    return b64(text)


def msg(type_: str, *bodies: str, version: str = "1") -> list[Any]:
    return [b64(version), b64(type_), *bodies]


def ok(name: str, frames: list[Any], *messages: tuple[str, Any], rule: str, dropped: list[dict[str, Any]] | None = None) -> dict[str, Any]:
    return {
        "name": name,
        "rule": rule,
        "frames": frames,
        "expect": {"messages": [{"type": t, "body": b} for t, b in messages], "dropped": dropped or []},
    }


def rejected(name: str, frames: list[Any], code: str, rule: str) -> dict[str, Any]:
    return {"name": name, "rule": rule, "frames": frames, "expect": {"rejected": code}}


def schema_drop(type_: str, exec_id: str | None = None, reported_error: str | None = None) -> dict[str, Any]:
    d: dict[str, Any] = {"code": "schema", "messageType": type_}
    if exec_id is not None:
        d["execId"] = exec_id
    if reported_error is not None:
        d["reportedError"] = reported_error
    return d


def bad(type_: str, name: str, value: Any, rule: str, exec_id: str | None = None, reported_error: str | None = None) -> dict[str, Any]:
    return ok(name, msg(type_, body(value)), rule=rule, dropped=[schema_drop(type_, exec_id, reported_error)])


def big(prefix: str, fill: str, count: int, suffix: str) -> dict[str, Any]:
    """A frame too long to spell out: `prefix`, then `fill` `count` times, then `suffix`."""
    return {"concat": [[b64(prefix), 1], [b64(fill), count], [b64(suffix), 1]]}


# --- bodies that pass, one per type -----------------------------------------------------------

EID = "job_0mwujg7oq4d2c9a1b0e7f@2026-11-24T10:15:00.000Z"
HELLO = {
    "agentId": "build-7",
    "version": "0.1.0",
    "handlers": ["noop", "report.daily"],
    "capacity": 4,
    "running": [],
    "groups": ["builders"],
    "tags": ["linux", "x64"],
    "shell": True,
    "http": True,
}
EXEC = {
    "execId": EID,
    "jobId": "job_0mwujg7oq4d2c9a1b0e7f",
    "jobName": "nightly report",
    "attempt": 1,
    "kind": {"type": "handler", "name": "report.daily"},
    "payload": {"day": "yesterday"},
    "timeoutMs": 60000,
    "deadline": 1795515360012,
    "scheduledAt": 1795515300000,
}
SHELL_KIND = {"type": "shell", "command": "/usr/local/bin/report", "args": ["--day", "yesterday"], "env": {"TZ": "UTC"}}
RESULT = {
    "execId": EID,
    "status": "failed",
    "exitCode": 3,
    "startedAt": 1795515300031,
    "finishedAt": 1795515302410,
    "outputTail": "reading input\nno such file: in.csv\n",
    "error": "exit code 3",
}
PING = {"nonce": "n-1", "sentAt": 1795515300000}


def w(d: dict[str, Any], **over: Any) -> dict[str, Any]:
    out = dict(d)
    for k, v in over.items():
        if v is DROP:
            out.pop(k, None)
        else:
            out[k] = v
    return out


DROP = object()
FR = "docs/protocol.md#framing"
SB = "docs/protocol.md#several-bodies-in-one-message"
ER = "docs/protocol.md#errors"


def messages_file() -> dict[str, Any]:
    h = "docs/protocol.md#hello--agent--server"
    e = "docs/protocol.md#exec--server--agent"
    a = "docs/protocol.md#ack--agent--server"
    s = "docs/protocol.md#start--agent--server"
    r = "docs/protocol.md#result--agent--server"
    o = "docs/protocol.md#output--agent--server"
    c = "docs/protocol.md#cancel--server--agent"
    p = "docs/protocol.md#ping-and-pong--either-way"
    ss = "docs/protocol.md#several-servers"
    y = "docs/protocol.md#bye--either-way"
    v: list[dict[str, Any]] = [
        # HELLO
        ok("HELLO as the doc's example", msg("HELLO", body(HELLO)), ("HELLO", HELLO), rule=h),
        ok("HELLO with batch and orphansKilled", msg("HELLO", body(w(HELLO, batch=True, orphansKilled=[EID]))),
           ("HELLO", w(HELLO, batch=True, orphansKilled=[EID])), rule=h),
        ok("HELLO with resultsRepeated (it follows the RESULTs repeated to a new leader)",
           msg("HELLO", body(w(HELLO, batch=True, resultsRepeated=True))), ("HELLO", w(HELLO, batch=True, resultsRepeated=True)), rule=h),
        ok("HELLO with startedAt (when this life of the agent began)",
           msg("HELLO", body(w(HELLO, startedAt=1796000000000))), ("HELLO", w(HELLO, startedAt=1796000000000)), rule=h),
        bad("HELLO", "HELLO with a negative startedAt", w(HELLO, startedAt=-1), h),
        ok("HELLO of an agent of every server: allServers, and runningForOthers",
           msg("HELLO", body(w(HELLO, allServers=True, runningForOthers=3))), ("HELLO", w(HELLO, allServers=True, runningForOthers=3)), rule=ss),
        bad("HELLO", "HELLO with allServers as a string", w(HELLO, allServers="true"), ss),
        bad("HELLO", "HELLO with runningForOthers -1", w(HELLO, runningForOthers=-1), ss),
        bad("HELLO", "HELLO with runningForOthers 100,001 (over LIMITS.capacity)", w(HELLO, runningForOthers=100_001), ss),
        ok("HELLO: unknown fields are stripped", msg("HELLO", body(w(HELLO, color="blue", extra={"a": 1}))), ("HELLO", HELLO), rule=FR),
        bad("HELLO", "HELLO without running", w(HELLO, running=DROP), h),
        bad("HELLO", "HELLO with capacity 0", w(HELLO, capacity=0), h),
        bad("HELLO", "HELLO with capacity 2.5", w(HELLO, capacity=2.5), h),
        ok("HELLO with capacity 4.0: a JSON number with an integral value is an integer", msg("HELLO", raw(
            json.dumps(w(HELLO), separators=(",", ":")).replace('"capacity":4', '"capacity":4.0'))), ("HELLO", HELLO), rule=h),
        bad("HELLO", "HELLO with shell as a string", w(HELLO, shell="true"), h),
        bad("HELLO", "HELLO with an empty agentId", w(HELLO, agentId=""), h),
        bad("HELLO", "HELLO with a handler that is not a string", w(HELLO, handlers=["noop", 7]), h),
        bad("HELLO", "HELLO with batch null (optional means absent, not null)", w(HELLO, batch=None), h),
        # EXEC
        ok("EXEC of a handler", msg("EXEC", body(EXEC)), ("EXEC", EXEC), rule=e),
        ok("EXEC of a shell command as the doc's example", msg("EXEC", body(w(EXEC, kind=SHELL_KIND, payload={}))),
           ("EXEC", w(EXEC, kind=SHELL_KIND, payload={})), rule=e),
        ok("EXEC of a shell command without args or env: the defaults are filled in",
           msg("EXEC", body(w(EXEC, kind={"type": "shell", "command": "/bin/true"}))),
           ("EXEC", w(EXEC, kind={"type": "shell", "command": "/bin/true", "args": [], "env": {}})), rule=e),
        ok("EXEC of an HTTP call without method or headers: the defaults are filled in",
           msg("EXEC", body(w(EXEC, kind={"type": "http", "url": "https://example.com/hook"}))),
           ("EXEC", w(EXEC, kind={"type": "http", "method": "GET", "url": "https://example.com/hook", "headers": {}})), rule=e),
        ok("EXEC of an HTTP call with expectStatus",
           msg("EXEC", body(w(EXEC, kind={"type": "http", "url": "https://example.com/hook", "expectStatus": "200-299, 404"}))),
           ("EXEC", w(EXEC, kind={"type": "http", "method": "GET", "url": "https://example.com/hook", "headers": {}, "expectStatus": "200-299, 404"})), rule=e),
        bad("EXEC", "EXEC of an HTTP call expecting status 600", w(EXEC, kind={"type": "http", "url": "https://example.com/", "expectStatus": "200-600"}), e, EID),
        bad("EXEC", "EXEC of an HTTP call expecting a range backwards", w(EXEC, kind={"type": "http", "url": "https://example.com/", "expectStatus": "299-200"}), e, EID),
        bad("EXEC", "EXEC of an HTTP call to an ftp: URL", w(EXEC, kind={"type": "http", "url": "ftp://example.com/x"}), e, EID),
        bad("EXEC", "EXEC of an HTTP call with method TRACE", w(EXEC, kind={"type": "http", "method": "TRACE", "url": "https://example.com/"}), e, EID),
        ok("EXEC: a handler name is trimmed of surrounding white space",
           msg("EXEC", body(w(EXEC, kind={"type": "handler", "name": " report.daily\t"}))), ("EXEC", EXEC), rule=e),
        bad("EXEC", "EXEC of a handler whose name is only white space", w(EXEC, kind={"type": "handler", "name": "  "}), e, EID),
        bad("EXEC", "EXEC of an unknown kind", w(EXEC, kind={"type": "lambda", "name": "x"}), e, EID),
        ok("EXEC with payload null", msg("EXEC", body(w(EXEC, payload=None))), ("EXEC", w(EXEC, payload=None)), rule=e),
        bad("EXEC", "EXEC without payload: the key is required (null when the job has none)", w(EXEC, payload=DROP), e, EID),
        ok("EXEC: unknown fields are stripped, in kind too", msg("EXEC", body(w(EXEC, priority=3, kind={"type": "handler", "name": "report.daily", "x": 1}))),
           ("EXEC", EXEC), rule=FR),
        bad("EXEC", "EXEC with attempt 0", w(EXEC, attempt=0), e, EID),
        ok("EXEC with timeoutMs 2^53 - 1, the largest safe integer", msg("EXEC", body(w(EXEC, timeoutMs=2**53 - 1))),
           ("EXEC", w(EXEC, timeoutMs=2**53 - 1)), rule=e),
        bad("EXEC", "EXEC with timeoutMs 2^53: integers are safe integers (JavaScript's Number.isSafeInteger)", w(EXEC, timeoutMs=2**53), e, EID),
        bad("EXEC", "EXEC with attempt true: a boolean is not a number", w(EXEC, attempt=True), e, EID),
        ok("EXEC with an http: URL that is upper case is refused: the scheme must be http: or https: as written",
           msg("EXEC", body(w(EXEC, kind={"type": "http", "url": "HTTPS://example.com/"}))), rule=e, dropped=[schema_drop("EXEC", EID)]),
        bad("EXEC", "EXEC with timeoutMs 0", w(EXEC, timeoutMs=0), e, EID),
        bad("EXEC", "EXEC with a negative deadline", w(EXEC, deadline=-1), e, EID),
        bad("EXEC", "EXEC with scheduledAt as an ISO string", w(EXEC, scheduledAt="2026-11-24T10:15:00.000Z"), e, EID),
        bad("EXEC", "EXEC without kind", w(EXEC, kind=DROP), e, EID),
        # ACK
        ok("ACK accepted with startedAt", msg("ACK", body({"execId": EID, "accepted": True, "startedAt": 1795515300031})),
           ("ACK", {"execId": EID, "accepted": True, "startedAt": 1795515300031}), rule=a),
        *[ok(f"ACK refused as {reason}", msg("ACK", body({"execId": EID, "accepted": False, "reason": reason})),
             ("ACK", {"execId": EID, "accepted": False, "reason": reason}), rule=a)
          for reason in ["duplicate", "no_handler", "at_capacity", "unsupported", "draining"]],
        bad("ACK", "ACK with an unknown reason", {"execId": EID, "accepted": False, "reason": "busy"}, a, EID),
        ok("ACK with runningForOthers", msg("ACK", body({"execId": EID, "accepted": True, "startedAt": 1795515300031, "runningForOthers": 2})),
           ("ACK", {"execId": EID, "accepted": True, "startedAt": 1795515300031, "runningForOthers": 2}), rule=ss),
        bad("ACK", "ACK with runningForOthers 1.5", {"execId": EID, "accepted": True, "runningForOthers": 1.5}, ss, EID),
        bad("ACK", "ACK without accepted", {"execId": EID}, a, EID),
        # START
        ok("START", msg("START", body({"execId": EID, "startedAt": 1795515300031})), ("START", {"execId": EID, "startedAt": 1795515300031}), rule=s),
        bad("START", "START without startedAt", {"execId": EID}, s, EID),
        # RESULT
        ok("RESULT as the doc's example", msg("RESULT", body(RESULT)), ("RESULT", RESULT), rule=r),
        *[ok(f"RESULT {status}", msg("RESULT", body(w(RESULT, status=status, exitCode=None, error=None if status == "succeeded" else "x"))),
             ("RESULT", w(RESULT, status=status, exitCode=None, error=None if status == "succeeded" else "x")), rule=r)
          for status in ["succeeded", "failed", "timed_out", "cancelled"]],
        bad("RESULT", "RESULT with status lost (a server's word, not an agent's)", w(RESULT, status="lost"), r, EID, "exit code 3"),
        ok("RESULT with runningForOthers", msg("RESULT", body(w(RESULT, runningForOthers=1))), ("RESULT", w(RESULT, runningForOthers=1)), rule=ss),
        bad("RESULT", "RESULT without exitCode (the key is required, null allowed)", w(RESULT, exitCode=DROP), r, EID, "exit code 3"),
        bad("RESULT", "RESULT without error (the key is required, null allowed)", w(RESULT, error=DROP), r, EID),
        bad("RESULT", "RESULT with exitCode 1.5", w(RESULT, exitCode=1.5), r, EID, "exit code 3"),
        # OUTPUT
        ok("OUTPUT", msg("OUTPUT", body({"execId": EID, "seq": 1, "chunk": "line1\nline2\n"})),
           ("OUTPUT", {"execId": EID, "seq": 1, "chunk": "line1\nline2\n"}), rule=o),
        ok("OUTPUT with an empty chunk", msg("OUTPUT", body({"execId": EID, "seq": 7, "chunk": ""})), ("OUTPUT", {"execId": EID, "seq": 7, "chunk": ""}), rule=o),
        bad("OUTPUT", "OUTPUT with seq 0 (seq counts from 1)", {"execId": EID, "seq": 0, "chunk": "x"}, o, EID),
        bad("OUTPUT", "OUTPUT without chunk", {"execId": EID, "seq": 1}, o, EID),
        bad("OUTPUT", "OUTPUT with seq 1.5", {"execId": EID, "seq": 1.5, "chunk": "x"}, o, EID),
        # CANCEL
        *[ok(f"CANCEL for {reason}", msg("CANCEL", body({"execId": EID, "reason": reason})), ("CANCEL", {"execId": EID, "reason": reason}), rule=c)
          for reason in ["timeout", "replaced", "requested", "shutdown"]],
        bad("CANCEL", "CANCEL with an unknown reason", {"execId": EID, "reason": "bored"}, c, EID),
        # PING, PONG, BYE
        ok("PING", msg("PING", body(PING)), ("PING", PING), rule=p),
        ok("PONG", msg("PONG", body(PING)), ("PONG", PING), rule=p),
        bad("PING", "PING without sentAt", {"nonce": "n-1"}, p),
        ok("PONG with runningForOthers", msg("PONG", body(w(PING, runningForOthers=5))), ("PONG", w(PING, runningForOthers=5)), rule=ss),
        ok("PING: runningForOthers is a PONG's alone, stripped", msg("PING", body(w(PING, runningForOthers=5))), ("PING", PING), rule=ss),
        bad("PONG", "PONG with runningForOthers null", w(PING, runningForOthers=None), ss),
        ok("BYE", msg("BYE", body({"reason": "shutdown"})), ("BYE", {"reason": "shutdown"}), rule=y),
        bad("BYE", "BYE with reason null", {"reason": None}, y),
    ]
    return {"about": "One vector or more per message type: bodies that decode (with the value they decode to) and bodies their schema refuses.", "vectors": v}


def framing_file() -> dict[str, Any]:
    v = [
        rejected("two frames", [b64("1"), b64("PING")], "frames", FR),
        rejected("one frame", [b64("1")], "frames", FR),
        rejected("an empty delimiter frame in front (a REQ socket's envelope)", [b64(""), b64("1"), b64("PING"), body(PING)], "version", FR),
        rejected("version 2", msg("PING", body(PING), version="2"), "version", FR),
        rejected("version 1.0", msg("PING", body(PING), version="1.0"), "version", FR),
        rejected("an unknown type", msg("HEARTBEAT", body(PING)), "type", FR),
        rejected("a type in lower case", msg("ping", body(PING)), "type", FR),
        rejected("a type that is an Object.prototype name", msg("constructor", body(PING)), "type", FR),
        rejected("a type that is Object.prototype's __proto__", msg("__proto__", body(PING)), "type", FR),
        ok("an empty body is not JSON", msg("PING", b64("")), rule=ER, dropped=[{"code": "json"}]),
        ok("a body that is not JSON", msg("PING", raw("{nonce: 'n'}")), rule=ER, dropped=[{"code": "json"}]),
        ok("a body that is JSON but not an object", msg("PING", raw("[1,2]")), rule=ER, dropped=[schema_drop("PING")]),
        ok("NaN and Infinity are not JSON", msg("PING", raw('{"nonce":"n","sentAt":NaN}'), raw('{"nonce":"n","sentAt":Infinity}')), rule=ER,
           dropped=[{"code": "json"}, {"code": "json"}]),
        ok("a number too large for a double is not a finite number", msg("PING", raw('{"nonce":"n","sentAt":1e400}')), rule=ER,
           dropped=[schema_drop("PING")]),
        ok("a body that is JSON null", msg("RESULT", raw("null")), rule=ER, dropped=[schema_drop("RESULT")]),
        ok("JSON with white space around it", msg("PING", raw(' \n{"nonce":"n-1","sentAt":1795515300000}\n ')), ("PING", PING), rule=FR),
        ok("JSON with non-ASCII text and a \\u escape", msg("BYE", raw('{"reason":"au revoir \u00e9t\\u00e9 \U0001f600"}')),
           ("BYE", {"reason": "au revoir \u00e9t\u00e9 \U0001f600"}), rule=FR),
        ok("a repeated key: the last one counts, as in JSON.parse", msg("BYE", raw('{"reason":"first","reason":"last"}')),
           ("BYE", {"reason": "last"}), rule=FR),
    ]
    return {"about": "The frames of a message: count, version, type, and bodies that are not JSON.", "vectors": v}


def batch_file() -> dict[str, Any]:
    tiny = {"nonce": "", "sentAt": 0}
    v = [
        ok("three PINGs in one message, in order", msg("PING", body(w(PING, nonce="a")), body(w(PING, nonce="b")), body(w(PING, nonce="c"))),
           ("PING", w(PING, nonce="a")), ("PING", w(PING, nonce="b")), ("PING", w(PING, nonce="c")), rule=SB),
        ok("a bad body among good ones is dropped alone",
           msg("ACK", body({"execId": "a", "accepted": True}), raw("not json"), body({"execId": "c", "accepted": "yes"}), body({"execId": "d", "accepted": False, "reason": "draining"})),
           ("ACK", {"execId": "a", "accepted": True}), ("ACK", {"execId": "d", "accepted": False, "reason": "draining"}),
           rule=SB, dropped=[{"code": "json"}, schema_drop("ACK", "c")]),
        ok("1,000 bodies (MAX_BODIES) in one message", msg("PING", *[body(tiny)] * 1000), *[("PING", tiny)] * 1000, rule=SB),
        rejected("1,001 bodies: 1,003 frames", msg("PING", *[body(tiny)] * 1001), "frames", SB),
        ok("a body of exactly 1,048,576 bytes (MAX_BODY_BYTES) is read",
           [b64("1"), b64("BYE"), big('{"reason":"bye","pad":"', "x", MiB - len('{"reason":"bye","pad":"') - 2, '"}')],
           ("BYE", {"reason": "bye"}), rule=ER),
        ok("a body of 1,048,577 bytes is dropped alone, the next body is kept",
           [b64("1"), b64("BYE"), big('{"reason":"bye","pad":"', "x", MiB + 1 - len('{"reason":"bye","pad":"') - 2, '"}'), body({"reason": "next"})],
           ("BYE", {"reason": "next"}), rule=ER, dropped=[{"code": "size"}]),
    ]
    return {"about": "Messages of several bodies: order, a bad body dropped alone, MAX_BODIES and MAX_BODY_BYTES.", "vectors": v}


def bounds_file() -> dict[str, Any]:
    h = "docs/protocol.md#hello--agent--server"
    r = "docs/protocol.md#result--agent--server"
    ou = "docs/protocol.md#output--agent--server"
    cb = "docs/protocol.md#framing"  # "Characters and bytes"
    id512 = "i" * 512
    emoji = "\U0001f600"  # 2 UTF-16 code units, 4 UTF-8 bytes
    v = [
        ok("an id of 512 chars", msg("START", body({"execId": id512, "startedAt": 1})), ("START", {"execId": id512, "startedAt": 1}), rule=cb),
        bad("START", "an id of 513 chars (named nowhere: not a readable execId)", {"execId": id512 + "i", "startedAt": 1}, cb),
        ok("an id of 256 emoji is 512 UTF-16 units", msg("START", body({"execId": emoji * 256, "startedAt": 1})), ("START", {"execId": emoji * 256, "startedAt": 1}), rule=cb),
        bad("START", "an id of 256 emoji and one letter is 513 UTF-16 units", {"execId": emoji * 256 + "i", "startedAt": 1}, cb),
        ok("version of 64 chars", msg("HELLO", body(w(HELLO, version="v" * 64))), ("HELLO", w(HELLO, version="v" * 64)), rule=h),
        bad("HELLO", "version of 65 chars", w(HELLO, version="v" * 65), h),
        ok("a handler name of 200 chars", msg("HELLO", body(w(HELLO, handlers=["h" * 200]))), ("HELLO", w(HELLO, handlers=["h" * 200])), rule=h),
        bad("HELLO", "a handler name of 201 chars", w(HELLO, handlers=["h" * 201]), h),
        bad("HELLO", "a tag of 100 emoji and one letter: 201 UTF-16 units", w(HELLO, tags=[emoji * 100 + "t"]), h),
        ok("capacity 100,000", msg("HELLO", body(w(HELLO, capacity=100000))), ("HELLO", w(HELLO, capacity=100000)), rule=h),
        bad("HELLO", "capacity 100,001", w(HELLO, capacity=100001), h),
        ok("1,000 groups", msg("HELLO", body(w(HELLO, groups=["g"] * 1000))), ("HELLO", w(HELLO, groups=["g"] * 1000)), rule=h),
        bad("HELLO", "1,001 tags", w(HELLO, tags=["t"] * 1001), h),
        bad("HELLO", "1,001 orphansKilled", w(HELLO, orphansKilled=["x"] * 1001), h),
        ok("error of 4,096 chars", msg("RESULT", body(w(RESULT, error="e" * 4096))), ("RESULT", w(RESULT, error="e" * 4096)), rule=r),
        bad("RESULT", "error of 4,097 chars: the whole RESULT is dropped; its execId and the start of its error are named",
            w(RESULT, error="E" + "e" * 4096), r, EID, "E" + "e" * 976 + "…[truncated 3120 chars]"),
        ok("outputTail of 8,192 bytes", msg("RESULT", body(w(RESULT, outputTail="o" * 8192))), ("RESULT", w(RESULT, outputTail="o" * 8192)), rule=r),
        ok("outputTail of 2,048 emoji: 8,192 bytes, 4,096 chars", msg("RESULT", body(w(RESULT, outputTail=emoji * 2048))),
           ("RESULT", w(RESULT, outputTail=emoji * 2048)), rule=r),
        bad("RESULT", "outputTail of 8,193 bytes", w(RESULT, outputTail="o" * 8193), r, EID, "exit code 3"),
        bad("RESULT", "outputTail of 2,731 euro signs: 8,193 bytes, 2,731 chars", w(RESULT, outputTail="\u20ac" * 2731), r, EID, "exit code 3"),
        ok("an OUTPUT chunk of 16,384 bytes", msg("OUTPUT", body({"execId": EID, "seq": 1, "chunk": "o" * 16384})),
           ("OUTPUT", {"execId": EID, "seq": 1, "chunk": "o" * 16384}), rule=ou),
        bad("OUTPUT", "an OUTPUT chunk of 16,385 bytes", {"execId": EID, "seq": 1, "chunk": "o" * 16385}, ou, EID),
        bad("OUTPUT", "an OUTPUT chunk of 5,462 euro signs: 16,386 bytes, 5,462 chars", {"execId": EID, "seq": 1, "chunk": "\u20ac" * 5462}, ou, EID),
        ok("OUTPUT seq 2,147,483,647", msg("OUTPUT", body({"execId": EID, "seq": 2147483647, "chunk": ""})),
           ("OUTPUT", {"execId": EID, "seq": 2147483647, "chunk": ""}), rule=ou),
        bad("OUTPUT", "OUTPUT seq 2,147,483,648", {"execId": EID, "seq": 2147483648, "chunk": ""}, ou, EID),
        ok("a nonce of 64 chars", msg("PONG", body(w(PING, nonce="n" * 64))), ("PONG", w(PING, nonce="n" * 64)), rule="docs/protocol.md#ping-and-pong--either-way"),
        bad("PONG", "a nonce of 65 chars", w(PING, nonce="n" * 65), "docs/protocol.md#ping-and-pong--either-way"),
        ok("a BYE reason of 200 chars", msg("BYE", body({"reason": "r" * 200})), ("BYE", {"reason": "r" * 200}), rule="docs/protocol.md#bye--either-way"),
        bad("BYE", "a BYE reason of 201 chars", {"reason": "r" * 201}, "docs/protocol.md#bye--either-way"),
        ok("a job name of 200 chars", msg("EXEC", body(w(EXEC, jobName="j" * 200))), ("EXEC", w(EXEC, jobName="j" * 200)), rule="docs/protocol.md#exec--server--agent"),
        bad("EXEC", "a job name of 201 chars", w(EXEC, jobName="j" * 201), "docs/protocol.md#exec--server--agent", EID),
    ]
    return {"about": "Every bound of LIMITS at its edge and one past it, counted as docs/protocol.md says (UTF-16 code units for chars, UTF-8 for bytes).", "vectors": v}


def sending_file() -> dict[str, Any]:
    """What a sender does to stay within bounds: these are functions, not frames."""
    tf = "docs/protocol.md#framing"
    emoji = "\U0001f600"
    truncate = [
        {"name": "what fits is returned as is", "text": "short", "maxChars": 4096, "expect": "short"},
        {"name": "exactly at the bound", "text": "x" * 30, "maxChars": 30, "expect": "x" * 30},
        {"name": "36 chars to 30: the start and a marker of the code units cut", "text": "abcdefghijklmnopqrstuvwxyz0123456789", "maxChars": 30,
         "expect": "abcdefghi…[truncated 27 chars]"},
        {"name": "4,097 chars to 4,096", "text": "E" + "x" * 4095 + "Z", "maxChars": 4096, "expect": "E" + "x" * 4074 + "…[truncated 22 chars]"},
        {"name": "a bound too small for the marker: a plain cut", "text": "abcdef", "maxChars": 3, "expect": "abc"},
        {"name": "a surrogate pair at the cut is dropped whole", "text": "a" * 8 + emoji + "b" * 30, "maxChars": 30,
         "expect": "a" * 8 + "…[truncated 32 chars]"},
        {"name": "a surrogate pair before the cut is kept whole", "text": "a" * 7 + emoji + "b" * 30, "maxChars": 30,
         "expect": "a" * 7 + emoji + "…[truncated 30 chars]"},
        {"name": "a plain cut never halves a pair", "text": "ab" + emoji + "cd", "maxChars": 3, "expect": "ab"},
        {"name": "a bound below 0 reads as 0", "text": "abc", "maxChars": -5, "expect": ""},
    ]
    tail = [
        {"name": "what fits is kept whole", "text": "line 1\nline 2\n", "maxBytes": 8192, "expect": "line 1\nline 2\n"},
        {"name": "the end is kept", "text": "a" * 10 + "b" * 8192, "maxBytes": 8192, "expect": "b" * 8192},
        {"name": "a multi-byte character at the cut is dropped whole", "text": "\u20ac" * 3, "maxBytes": 7, "expect": "\u20ac" * 2},
        {"name": "an emoji at the cut is dropped whole", "text": "x" + emoji + "yz", "maxBytes": 5, "expect": "yz"},
        {"name": "an emoji within the bound is kept", "text": "x" + emoji + "yz", "maxBytes": 6, "expect": emoji + "yz"},
    ]
    return {
        "about": "Bounding what you send (docs/protocol.md, 'Bound what you send where you make it'): truncateField keeps a message's start with a marker, the output tail keeps the end of the output in whole characters.",
        "rule": tf,
        "truncateField": truncate,
        "outputTail": tail,
    }


def main() -> None:
    files = {
        "messages.json": messages_file(),
        "framing.json": framing_file(),
        "batches.json": batch_file(),
        "bounds.json": bounds_file(),
        "sending.json": sending_file(),
    }
    for name, content in files.items():
        (HERE / name).write_text(json.dumps(content, indent=1, ensure_ascii=False) + "\n", encoding="utf-8")


if __name__ == "__main__":
    main()
