"""An asyncio transport stand-in, for driving a ``Connection`` in-process without sockets."""

from __future__ import annotations

from typing import Any


class FakeTransport:
    """Collects what the connection writes; ``closed`` once the connection closed it."""

    def __init__(self) -> None:
        self.data = bytearray()
        self.closed = False

    def get_extra_info(self, name: str, default: Any = None) -> Any:
        return {"peername": ("127.0.0.1", 50000), "sockname": ("127.0.0.1", 6379)}.get(name, default)

    def write(self, data: bytes) -> None:
        self.data += data

    def is_closing(self) -> bool:
        return self.closed

    def close(self) -> None:
        self.closed = True

    def get_write_buffer_size(self) -> int:
        return 0
