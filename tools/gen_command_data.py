"""Regenerate ``pyvalkey/commands/data/commands.json`` from the oracle's ``COMMAND``.

Command metadata (arity, flags, key positions and specs, ACL categories, tips, subcommands) are
facts about Valkey; we read them from the real server instead of retyping them. The JSON keeps
the RESP3 shapes (sets, maps, simple strings) so our ``COMMAND INFO`` encodes byte for byte.
Prose (summaries, history notes) from ``COMMAND DOCS`` is dropped.

    python tools/gen_command_data.py
"""

from __future__ import annotations

import json
import socket
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))
from oracle import OracleServer  # noqa: E402

ROOT = Path(__file__).resolve().parent.parent
OUT = ROOT / "pyvalkey" / "commands" / "data" / "commands.json"


class Resp3Parser:
    """Parses RESP3 into tagged JSON: {"+": s} simple, {"~": [...]} set, {"%": [[k, v]...]} map."""

    def __init__(self, data: bytes) -> None:
        self.data = data
        self.pos = 0

    def line(self) -> bytes:
        end = self.data.index(b"\r\n", self.pos)
        text = self.data[self.pos : end]
        self.pos = end + 2
        return text

    def value(self):  # noqa: ANN201
        kind = self.data[self.pos : self.pos + 1]
        self.pos += 1
        text = self.line()
        if kind == b"+":
            return {"+": text.decode()}
        if kind == b":":
            return int(text)
        if kind == b"$":
            n = int(text)
            body = self.data[self.pos : self.pos + n]
            self.pos += n + 2
            return body.decode()
        if kind == b"*":
            return [self.value() for _ in range(int(text))]
        if kind == b"~":
            return {"~": [self.value() for _ in range(int(text))]}
        if kind == b"%":
            return {"%": [[self.value(), self.value()] for _ in range(int(text))]}
        if kind == b"_":
            return None
        raise ValueError(f"unexpected RESP3 type {kind!r}")


def query(port: int, *commands: bytes) -> list:
    with socket.create_connection(("127.0.0.1", port)) as sock:
        payload = b"HELLO 3\r\n" + b"".join(c + b"\r\n" for c in commands)
        sock.sendall(payload + b"PING\r\n")
        data = bytearray()
        while not data.endswith(b"+PONG\r\n"):
            data += sock.recv(1 << 20)
    parser = Resp3Parser(bytes(data))
    parser.value()  # HELLO
    return [parser.value() for _ in commands]


def strip_prose(doc):  # noqa: ANN001, ANN201
    if isinstance(doc, dict) and "%" in doc:
        return {"%": [[k, strip_prose(v)] for k, v in doc["%"] if k not in ("summary", "history")]}
    if isinstance(doc, list):
        return [strip_prose(item) for item in doc]
    return doc


def main() -> None:
    server = OracleServer()
    try:
        info, docs = query(server.port, b"COMMAND", b"COMMAND DOCS")
    finally:
        server.stop()
    docs_by_name = {name: strip_prose(doc) for name, doc in docs["%"]}
    table = {}
    for entry in sorted(info, key=lambda e: e[0]):
        table[entry[0]] = {"info": entry, "docs": docs_by_name.get(entry[0])}
    OUT.write_text(json.dumps(table, indent=None, separators=(",", ":"), sort_keys=False) + "\n")
    print(f"wrote {len(table)} commands to {OUT.relative_to(ROOT)}")


if __name__ == "__main__":
    main()
