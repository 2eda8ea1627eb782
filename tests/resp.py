"""A raw RESP test client: sends commands, returns each reply's exact bytes."""

from __future__ import annotations

import socket
from typing import Optional, Union

Arg = Union[bytes, str, int, float]


def encode_command(*args: Arg) -> bytes:
    parts = [b"*%d\r\n" % len(args)]
    for arg in args:
        if isinstance(arg, str):
            arg = arg.encode()
        elif isinstance(arg, (int, float)):
            arg = str(arg).encode()
        parts.append(b"$%d\r\n%s\r\n" % (len(arg), arg))
    return b"".join(parts)


def reply_end(data: bytes, pos: int = 0) -> Optional[int]:
    """Index just past the complete reply starting at ``pos``, or None if incomplete."""
    if pos >= len(data):
        return None
    end = data.find(b"\r\n", pos)
    if end < 0:
        return None
    kind = data[pos : pos + 1]
    head = data[pos + 1 : end]
    after = end + 2
    if kind in (b"$", b"=", b"!"):
        n = int(head)
        if n < 0:
            return after
        return after + n + 2 if len(data) >= after + n + 2 else None
    if kind in (b"*", b"~", b">", b"%", b"|"):
        n = int(head)
        if n < 0:
            return after
        if kind in (b"%", b"|"):
            n *= 2
        for _ in range(n):
            nxt = reply_end(data, after)
            if nxt is None:
                return None
            after = nxt
        if kind == b"|":  # an attribute precedes the real reply
            return reply_end(data, after)
        return after
    return after


class RawClient:
    def __init__(self, port: int, host: str = "127.0.0.1", timeout: float = 10.0) -> None:
        self.sock = socket.create_connection((host, port), timeout=timeout)
        self.buf = b""

    def send(self, data: bytes) -> None:
        self.sock.sendall(data)

    def read_reply(self) -> bytes:
        while True:
            end = reply_end(self.buf)
            if end is not None:
                reply, self.buf = self.buf[:end], self.buf[end:]
                return reply
            chunk = self.sock.recv(1 << 20)
            if not chunk:
                raise ConnectionError(f"connection closed; buffered {self.buf!r}")
            self.buf += chunk

    def __call__(self, *args: Arg) -> bytes:
        self.send(encode_command(*args))
        return self.read_reply()

    def is_closed(self, timeout: float = 2.0) -> bool:
        self.sock.settimeout(timeout)
        try:
            return self.sock.recv(1) == b""
        except (ConnectionResetError, BrokenPipeError):
            return True
        except socket.timeout:
            return False

    def close(self) -> None:
        self.sock.close()
