"""HyperLogLog commands (Valkey's hyperloglog.c group): PFADD, PFCOUNT, PFMERGE, PFDEBUG,
PFSELFTEST.

HLLs are plain string values in Valkey's byte layout (see ``pyvalkey.storage.hyperloglog``).
Every command that writes one first turns the stored value into a private ``bytearray``
(``strings._writable``, Valkey's dbUnshareStringValue) and then updates it in place.

Observable details kept from Valkey:

* PFCOUNT of one key stores the computed estimate back into the header when the cached one is
  stale; that is a change to the key (dirty count, WATCH), although PFCOUNT is a read command.
* PFADD counts one change per raised register (plus one for creating the key), PFMERGE one.
* PFMERGE always includes the destination among the sources; the result is dense as soon as
  any source is dense, otherwise the registers are written one by one into the sparse form,
  which may promote it.
* PFDEBUG SIMD with a bad argument sends an error *and* the status line.
"""

from __future__ import annotations

from typing import Any

from pyvalkey.client import Client
from pyvalkey.commands.registry import command
from pyvalkey.commands.strings import _writable
from pyvalkey.errors import ErrorReply, msg
from pyvalkey.lazyimport import lazy_module
from pyvalkey.protocol.replies import Raw, SimpleString
from pyvalkey.storage.database import NOTIFY_STRING

# The register arithmetic loads with the first PF* command, not at every start-up.
hll = lazy_module("pyvalkey.storage.hyperloglog")

# Error texts of this group (full reply after '-').
NOT_HLL = b"WRONGTYPE Key is not a valid HyperLogLog string value."
CORRUPT = b"INVALIDOBJ Corrupted HLL object detected"
NO_KEY = b"ERR The specified key does not exist"
NOT_SPARSE = b"ERR HLL encoding is not sparse"
BAD_SIMD_ARG = b"ERR Argument must be ON or OFF"

_ENCODING_NAMES = (SimpleString(b"dense"), SimpleString(b"sparse"))

# PFDEBUG SIMD only flips a flag here: there is no vector code, but the reply tells the state.
_simd = {"enabled": True}


def _checked(value: Any) -> Any:
    """Valkey's isHLLObjectOrReply: the value must be a string shaped like an HLL."""
    kind = type(value)
    if kind is not bytes and kind is not bytearray:
        raise ErrorReply(msg.WRONGTYPE)
    if not hll.is_hll(value):
        raise ErrorReply(NOT_HLL)
    return value


def _as_reply(card: int) -> int:
    """Valkey sends the unsigned estimate as a signed 64-bit integer."""
    return card - (1 << 64) if card >= 1 << 63 else card


@command("pfadd")
def pfadd(client: Client, argv: list[bytes]) -> Any:
    db = client.db
    key = argv[1]
    value = db.lookup_write(key)
    changed = 0
    if value is None:
        buf = hll.new_sparse()
        db.add(key, buf)
        changed = 1
    else:
        _checked(value)
        buf = _writable(db, key, value)
        del value
    if len(argv) > 2:
        raised, ok = hll.add_elements(buf, argv[2:], client.server.config.hll_sparse_max_bytes)
        if not ok:
            raise ErrorReply(CORRUPT)
        changed += raised
    if not changed:
        return 0
    hll.invalidate(buf)
    db.signal_modified(key)
    db.notify(NOTIFY_STRING, b"pfadd", key)
    db.keyspace.dirty += changed
    return 1


@command("pfcount")
def pfcount(client: Client, argv: list[bytes]) -> Any:
    db = client.db
    if len(argv) > 2:
        raw = bytearray(hll.REGISTERS)
        for key in argv[1:]:
            value = db.lookup_read(key)
            if value is None:
                continue
            if not hll.merge_into(raw, _checked(value)):
                raise ErrorReply(CORRUPT)
        return _as_reply(hll.estimate(raw))
    key = argv[1]
    value = db.lookup_read(key)
    if value is None:
        return 0
    _checked(value)
    buf = _writable(db, key, value)
    del value
    card = hll.cached_count(buf)
    if card is not None:
        return card
    card = hll.count(buf)
    if card is None:
        raise ErrorReply(CORRUPT)
    hll.store_count(buf, card)
    db.signal_modified(key)
    db.keyspace.dirty += 1
    return _as_reply(card)


@command("pfmerge")
def pfmerge(client: Client, argv: list[bytes]) -> Any:
    db = client.db
    raw = bytearray(hll.REGISTERS)
    use_dense = False
    for key in argv[1:]:
        value = db.lookup_read(key)
        if value is None:
            continue
        _checked(value)
        if value[4] == hll.DENSE:
            use_dense = True
        if not hll.merge_into(raw, value):
            raise ErrorReply(CORRUPT)
    key = argv[1]
    value = db.lookup_write(key)
    if value is None:
        buf = hll.new_sparse()
        db.add(key, buf)
    else:
        buf = _writable(db, key, value)
        del value
    if use_dense:
        if not hll.to_dense(buf):
            raise ErrorReply(CORRUPT)
        buf[hll.HEADER_SIZE :] = hll.raw_to_dense(raw)
    else:
        pairs = [(i, v) for i, v in enumerate(raw) if v]
        hll.add_pairs(buf, pairs, client.server.config.hll_sparse_max_bytes)
    hll.invalidate(buf)
    db.signal_modified(key)
    db.notify(NOTIFY_STRING, b"pfadd", key)
    db.keyspace.dirty += 1
    return SimpleString(b"OK")


@command("pfdebug")
def pfdebug(client: Client, argv: list[bytes]) -> Any:
    sub = argv[1]
    name = sub.split(b"\0", 1)[0].lower()  # compared with strcasecmp
    if name == b"simd":
        arg = argv[2].split(b"\0", 1)[0].lower()
        state = b"enabled"
        if arg == b"on":
            _simd["enabled"] = True
        elif arg == b"off":
            _simd["enabled"] = False
        else:
            state = b"enabled" if _simd["enabled"] else b"disabled"
            # Valkey replies twice here: the error, then the state anyway.
            client.server.stats.count_error(BAD_SIMD_ARG)
            return Raw(b"-" + BAD_SIMD_ARG + b"\r\n+" + state + b"\r\n")
        if not _simd["enabled"]:
            state = b"disabled"
        return SimpleString(state)
    db = client.db
    key = argv[2]
    value = db.lookup_write(key)
    if value is None:
        raise ErrorReply(NO_KEY)
    _checked(value)
    buf = _writable(db, key, value)
    del value
    if name == b"getreg":
        if buf[4] == hll.SPARSE:
            if not hll.to_dense(buf):
                raise ErrorReply(CORRUPT)
            db.keyspace.dirty += 1
        return hll.get_registers(buf)
    if name == b"decode":
        if buf[4] != hll.SPARSE:
            raise ErrorReply(NOT_SPARSE)
        return hll.decode_sparse_text(buf)
    if name == b"encoding":
        return _ENCODING_NAMES[buf[4]]
    if name == b"todense":
        if buf[4] != hll.SPARSE:
            return 0
        if not hll.to_dense(buf):
            raise ErrorReply(CORRUPT)
        db.keyspace.dirty += 1
        return 1
    shown = sub.split(b"\0", 1)[0].replace(b"\r", b" ").replace(b"\n", b" ")
    raise ErrorReply(b"ERR Unknown PFDEBUG subcommand '%s'" % shown)


@command("pfselftest")
def pfselftest(client: Client, argv: list[bytes]) -> Any:
    failure = hll.self_test(client.server.config.hll_sparse_max_bytes)
    if failure is not None:
        raise ErrorReply(failure)
    return SimpleString(b"OK")
