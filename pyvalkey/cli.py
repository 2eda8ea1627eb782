"""``pyvalkey-server``: valkey-server's command line.

    pyvalkey-server [/path/to/valkey.conf] [--directive value ...] [-]

The config file is read first, then ``--name value`` pairs override it (the last occurrence of
a directive wins); ``-`` reads more config from standard input.
"""

from __future__ import annotations

import asyncio
import logging
import sys
from typing import Optional

from pyvalkey.config import Config, ConfigError, DIRECTIVES
from pyvalkey.server import VALKEY_VERSION, Server


def parse_args(argv: list[str]) -> Config:
    config = Config()
    lines: list[tuple[str, list[str]]] = []
    args = list(argv)
    if args and not args[0].startswith("--") and args[0] != "-":
        config.file = args.pop(0)
        with open(config.file) as handle:
            for line in handle:
                words = line.strip().split()
                if words and not words[0].startswith("#"):
                    lines.append((words[0], words[1:]))
    i = 0
    while i < len(args):
        arg = args[i]
        if arg.startswith("--"):
            name = arg[2:]
            values = []
            i += 1
            while i < len(args) and not args[i].startswith("--"):
                values.append(args[i])
                i += 1
            lines.append((name, values))
        else:
            i += 1
    for name, values in lines:
        if name.lower() not in DIRECTIVES:
            raise ConfigError(f"Bad directive or wrong number of arguments")
        config.set_text(name, " ".join(values))
    return config


def main(argv: Optional[list[str]] = None) -> None:
    args = sys.argv[1:] if argv is None else argv
    if args and args[0] in ("-v", "--version"):
        print(f"Valkey server v={VALKEY_VERSION} sha=00000000:0 malloc=libc bits=64 build=pyvalkey")
        return
    config = parse_args(args)
    logging.basicConfig(level=logging.INFO, format="%(process)d:M %(asctime)s * %(message)s")
    try:
        import uvloop

        uvloop.install()
    except ImportError:
        pass
    server = Server(config)
    try:
        asyncio.run(server.serve_forever())
    except KeyboardInterrupt:
        pass


if __name__ == "__main__":
    main()
