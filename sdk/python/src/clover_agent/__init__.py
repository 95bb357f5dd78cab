"""clover-agent: a clover agent in Python. Register handlers on an :class:`Agent`, start it, and
the dispatch leader sends it the ``handler`` jobs it serves (docs/protocol.md)."""

from .agent import Agent, Curve
from .context import Context, Handler
from .limits import LIMITS, OutputTail, output_tail, truncate_field
from .messages import Message, ProtocolError, decode_all, encode, encode_batch

__all__ = [
    "Agent",
    "Context",
    "Curve",
    "Handler",
    "LIMITS",
    "Message",
    "OutputTail",
    "ProtocolError",
    "decode_all",
    "encode",
    "encode_batch",
    "output_tail",
    "truncate_field",
]
__version__ = "0.1.0"
