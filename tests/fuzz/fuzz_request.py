"""A generated request, its live addresses still placeholders, and what its sender knows about its body.

Strategies are built before any server starts, so they write `{sentinel}`, `{upstream}` and `{proxy}`
(host:port) and `{sentinel_port}`; `to_raw` puts in the live values. Hypothesis prints the request
with its placeholders, which is what a failure report should show.
"""
from dataclasses import dataclass, field

from tests.fuzz.raw_http import RawRequest


def user_agent(fuzz_id: str) -> str:
    """The User-Agent that marks a request: records keep it in a column of their own (user_agent),
    even a record stored without its bodies row."""
    return f"fuzz/{fuzz_id}"


@dataclass(frozen=True)
class Addresses:
    """The live ports behind the placeholders."""

    proxy: int
    upstream: int
    sentinel: int

    def fill(self, data: bytes) -> bytes:
        """`data` with every placeholder replaced by its live value."""
        for name, port in (("proxy", self.proxy), ("upstream", self.upstream), ("sentinel", self.sentinel)):
            data = data.replace(b"{%s}" % name.encode(), b"127.0.0.1:%d" % port)
            data = data.replace(b"{%s_port}" % name.encode(), b"%d" % port)
        return data


@dataclass(frozen=True)
class FuzzRequest:
    """One request to fuzz the proxy with.

    `body_broken`: True when the body is shorter than its framing says or its chunks are malformed,
    None when the framing is odd enough that only the server can tell, False when it adds up.
    Whenever it is not False the client shuts its sending side after the body, so a server waiting
    for more sees the end of the stream instead of holding the connection.
    `secrets`: credential values in the headers, which no record may store as they are.
    """

    method: bytes
    target: bytes
    head_lines: tuple[bytes, ...] = ()
    body: bytes = b""
    body_broken: bool | None = False
    secrets: tuple[bytes, ...] = field(default=(), repr=False)

    def to_raw(self, addresses: Addresses, fuzz_id: str) -> RawRequest:
        """The bytes to send: the fuzz id (as User-Agent) and `Connection: close` first, so a head cut
        short by a generated CR LF still carries them; then the generated lines."""
        lines = [b"User-Agent: " + user_agent(fuzz_id).encode(), b"Connection: close",
                 *(addresses.fill(line) for line in self.head_lines)]
        return RawRequest(self.method, addresses.fill(self.target), lines, addresses.fill(self.body),
                          close_write=self.body_broken is not False)

    def describe(self, addresses: Addresses) -> str:
        """The request as sent, for a failure message (long parts shortened)."""
        body = self.body if len(self.body) <= 300 else self.body[:300] + b"...(%d bytes)" % len(self.body)
        target = addresses.fill(self.target)
        target = target if len(target) <= 300 else target[:300] + b"...(%d bytes)" % len(target)
        lines = "\n    ".join(repr(addresses.fill(line)[:300]) for line in self.head_lines)
        return (f"{self.method!r} {target!r}\n  head lines:\n    {lines or '(none)'}\n  body: {body!r}"
                f"\n  body_broken={self.body_broken}")
