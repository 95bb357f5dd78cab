"""The protocol's bounds (docs/protocol.md, ``LIMITS`` in ``@clover/protocol``) and the two ways
a sender keeps within them: :func:`truncate_field` for message fields and :func:`output_tail`.

A bound in characters counts UTF-16 code units, as JavaScript's ``String.length`` does (an
emoji counts 2); a bound in bytes counts UTF-8. :func:`utf16_len` is that count.
"""

from __future__ import annotations

from typing import Final

PROTOCOL_VERSION: Final = "1"
#: Bodies above this many bytes are dropped unread.
MAX_BODY_BYTES: Final = 1024 * 1024
#: Bodies one message may carry, for a peer that reads several.
MAX_BODIES: Final = 1000
#: ZeroMQ's MAXMSGSIZE the reference sets: a larger frame drops the connection.
MAX_MESSAGE_BYTES: Final = MAX_BODY_BYTES + 64 * 1024


class LIMITS:
    """Every bound of a field a peer fills; names and values as ``LIMITS`` in ``@clover/protocol``."""

    ID_CHARS: Final = 512
    ROUTING_ID_BYTES: Final = 255
    VERSION_CHARS: Final = 64
    NAME_CHARS: Final = 200
    HANDLERS: Final = 10_000
    LABELS: Final = 1000
    CAPACITY: Final = 100_000
    ERROR_CHARS: Final = 4096
    OUTPUT_TAIL_BYTES: Final = 8192
    OUTPUT_CHUNK_BYTES: Final = 16384
    OUTPUT_SEQ_MAX: Final = 2**31 - 1
    NONCE_CHARS: Final = 64
    REASON_CHARS: Final = 200
    ORPHANS_KILLED: Final = 1000


def utf16_len(text: str) -> int:
    """``text``'s length in UTF-16 code units (JavaScript's ``String.length``): 2 per character past U+FFFF."""
    if text.isascii():
        return len(text)
    return len(text) + sum(1 for ch in text if ord(ch) > 0xFFFF)


def _keep_units(text: str, units: int) -> str:
    """The longest start of ``text`` of at most ``units`` UTF-16 code units, never half a pair."""
    out = 0
    for i, ch in enumerate(text):
        out += 2 if ord(ch) > 0xFFFF else 1
        if out > units:
            return text[:i]
    return text


def truncate_field(text: str, max_chars: int) -> str:
    """``text`` cut to at most ``max_chars`` UTF-16 code units, keeping its start (where a message
    says what went wrong) and ending with the marker ``…[truncated N chars]`` (N code units cut).
    Never splits a surrogate pair. Returns ``text`` when it fits; a bound too small for the marker
    gets a plain cut; a bound below 0 reads as 0. Same as the reference's ``truncateField``
    (held to it by testdata/wire-vectors/sending.json)."""
    limit = max(0, int(max_chars))
    length = utf16_len(text)
    if length <= limit:
        return text
    keep = limit
    while True:
        marker = f"…[truncated {length - keep} chars]"
        if len(marker) > limit:
            return _keep_units(text, limit)
        if keep + len(marker) <= limit:
            start = _keep_units(text, keep)
            return f"{start}…[truncated {length - utf16_len(start)} chars]"
        keep = limit - len(marker)


def output_tail(text: str, max_bytes: int = LIMITS.OUTPUT_TAIL_BYTES) -> str:
    """The end of ``text`` in at most ``max_bytes`` bytes of UTF-8, a character cut in two dropped
    whole: where a run's errors are. Same as the reference's ``truncateOutput``."""
    data = text.encode("utf-8", "surrogatepass")
    if len(data) <= max_bytes:
        return text
    tail = data[len(data) - max_bytes :].decode("utf-8", "replace")
    # As the reference: the cut may leave replacement characters in front; drop them.
    return tail.lstrip("\ufffd")


class OutputTail:
    """An execution's output, keeping only its last ``LIMITS.OUTPUT_TAIL_BYTES`` bytes (the RESULT's
    ``outputTail`` bound). Thread-safe enough for appends from a handler's thread: each append is
    one assignment of a new string."""

    def __init__(self) -> None:
        self._text = ""

    def append(self, chunk: str) -> None:
        text = self._text + chunk
        # Trim in batches: cutting on every small chunk would be quadratic.
        if len(text) > 4 * LIMITS.OUTPUT_TAIL_BYTES:
            text = output_tail(text)
        self._text = text

    def line(self, line: str) -> None:
        self.append(line if line.endswith("\n") else line + "\n")

    def __str__(self) -> str:
        return output_tail(self._text)
