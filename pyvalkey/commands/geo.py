"""Geo commands: Valkey's geo.c group (GEOADD, GEOPOS, GEODIST, GEOHASH, GEOSEARCH,
GEOSEARCHSTORE and the older GEORADIUS family).

Geo data is a plain sorted set (``pyvalkey.storage.zsets.ZSetValue``) whose scores are 52-bit
geohashes (``pyvalkey.storage.geohash``); GEOADD is ZADD with computed scores. Searches scan
the score intervals of nine cells around the centre, keep the members inside the shape, and
sort by distance the way Valkey does (a stable sort, or its partial quicksort when COUNT cuts
the result), so ties and COUNT ANY pick the same members in the same order.

Replies: distances are bulk strings with four decimals; coordinates are doubles printed
"%.17f" with trailing zeros trimmed (a bulk string in RESP2, a double in RESP3).
"""

from __future__ import annotations

import math
from typing import Any

from pyvalkey.client import Client
from pyvalkey.commands import zsets as zset_commands
from pyvalkey.commands.parsing import parse_int
from pyvalkey.commands.registry import command
from pyvalkey.commands.sorting import partial_quicksort
from pyvalkey.errors import ErrorReply, msg
from pyvalkey.protocol.replies import NULL_ARRAY, Raw
from pyvalkey.storage import geohash
from pyvalkey.storage.database import NOTIFY_GENERIC, NOTIFY_ZSET
from pyvalkey.storage.zsets import ScoreRange, ZSetValue

__all__: list[str] = []

_parse_double = zset_commands._score_arg  # Valkey's string2d rules, shared with ZADD

UNIT_ERROR = b"ERR unsupported unit provided. please use M, KM, FT, MI"
_UNITS = {b"m": 1.0, b"km": 1000.0, b"ft": 0.3048, b"mi": 1609.34}
LLONG_MAX = 2**63 - 1


# ---------------------------------------------------------------------------------------------
# Arguments
# ---------------------------------------------------------------------------------------------


def _lonlat(lon_arg: bytes, lat_arg: bytes) -> tuple[float, float]:
    lon = _parse_double(lon_arg)
    lat = _parse_double(lat_arg)
    if not geohash.coords_valid(lon, lat):
        raise ErrorReply(b"ERR invalid longitude,latitude pair %s,%s" % (_c_f(lon), _c_f(lat)))
    return lon, lat


def _c_f(value: float) -> bytes:
    """C's "%f"."""
    return f"{value:f}".encode()


def _unit(arg: bytes) -> float:
    factor = _UNITS.get(arg.lower())
    if factor is None:
        raise ErrorReply(UNIT_ERROR)
    return factor


def _distance_text(meters: float) -> bytes:
    """Four decimals, rounded half to even on the scaled value as llrint does."""
    if meters == 0:
        return b"0.0000"
    scaled_float = meters * 10000.0
    # llrint answers LLONG_MIN for NaN and for values out of range.
    scaled = round(scaled_float) if math.isfinite(scaled_float) and abs(scaled_float) < 2.0**63 else -(2**63)
    sign = b"-" if scaled < 0 else b""
    scaled = abs(scaled)
    return b"%s%d.%04d" % (sign, scaled // 10000, scaled % 10000)


def _human(value: float) -> bytes:
    """A coordinate as Valkey prints it: "%.17f" without trailing zeros."""
    text = f"{value:.17f}".rstrip("0").removesuffix(".")
    if text == "-0":
        text = "0"
    return text.encode()


def _coord_reply(client: Client, value: float) -> Any:
    text = _human(value)
    return Raw(b",%s\r\n" % text) if client.resp3 else text


def _member_missing(member: bytes) -> ErrorReply:
    # The name goes through a C "%s": it ends at the first NUL byte.
    nul = member.find(b"\0")
    if nul >= 0:
        member = member[:nul]
    return ErrorReply(b"ERR member %s does not exist" % member)


def _read(client: Client, key: bytes) -> ZSetValue | None:
    value = client.db.lookup_read(key)
    if value is None or type(value) is ZSetValue:
        return value
    raise ErrorReply(msg.WRONGTYPE)


# ---------------------------------------------------------------------------------------------
# GEOADD, GEOPOS, GEODIST, GEOHASH
# ---------------------------------------------------------------------------------------------


@command("geoadd")
def geoadd(client: Client, argv: list[bytes]) -> Any:
    argc = len(argv)
    first = 2
    nx = xx = False
    while first < argc:
        opt = argv[first].lower()
        if opt == b"nx":
            nx = True
        elif opt == b"xx":
            xx = True
        elif opt != b"ch":
            break
        first += 1
    if (argc - first) % 3 or (nx and xx):
        raise ErrorReply(msg.SYNTAX)
    zadd_argv = [b"ZADD"] + argv[1:first]
    for i in range(first, argc, 3):
        lon, lat = _lonlat(argv[i], argv[i + 1])
        bits = geohash.encode(lon, lat, geohash.STEP_MAX)
        zadd_argv.append(b"%d" % bits)
        zadd_argv.append(argv[i + 2])
    # The rest is ZADD with the computed scores (its key checks, counts and events).
    keyspace = client.server.keyspace
    dirty = keyspace.dirty
    reply = zset_commands._zadd(client, zadd_argv, False)
    if keyspace.dirty != dirty:
        # Valkey runs (and so propagates) the ZADD it builds, not the GEOADD.
        client.server.propagator.rewrite(zadd_argv)
    return reply


@command("geopos")
def geopos(client: Client, argv: list[bytes]) -> Any:
    zs = _read(client, argv[1])
    out: list[Any] = []
    for member in argv[2:]:
        score = None if zs is None else zs.scores.get(member)
        if score is None:
            out.append(NULL_ARRAY)
        else:
            lon, lat = geohash.decode_score(score)
            out.append([_coord_reply(client, lon), _coord_reply(client, lat)])
    return out


@command("geodist")
def geodist(client: Client, argv: list[bytes]) -> Any:
    factor = 1.0
    if len(argv) == 5:
        factor = _unit(argv[4])
    elif len(argv) > 5:
        raise ErrorReply(msg.SYNTAX)
    zs = _read(client, argv[1])
    if zs is None:
        return None
    first = zs.scores.get(argv[2])
    second = zs.scores.get(argv[3])
    if first is None or second is None:
        return None
    lon1, lat1 = geohash.decode_score(first)
    lon2, lat2 = geohash.decode_score(second)
    return _distance_text(geohash.distance(lon1, lat1, lon2, lat2) / factor)


@command("geohash")
def geohash_command(client: Client, argv: list[bytes]) -> Any:
    zs = _read(client, argv[1])
    out: list[Any] = []
    for member in argv[2:]:
        score = None if zs is None else zs.scores.get(member)
        out.append(None if score is None else geohash.geohash_text(score))
    return out


# ---------------------------------------------------------------------------------------------
# Searches
# ---------------------------------------------------------------------------------------------

RADIUS_COORDS = 1
RADIUS_MEMBER = 2
NO_STORE = 4
SEARCH = 8
SEARCH_STORE = 16

SORT_NONE = 0
SORT_ASC = 1
SORT_DESC = 2


def _member_position(zs: ZSetValue, member: bytes) -> tuple[float, float]:
    score = zs.scores.get(member)
    if score is None:
        raise _member_missing(member)
    return geohash.decode_score(score)


def _radius(shape: geohash.Shape, value: bytes, unit: bytes) -> None:
    radius = _parse_double(value, b"ERR need numeric radius")
    if radius < 0:
        raise ErrorReply(b"ERR radius cannot be negative")
    shape.radius = radius
    shape.unit = _unit(unit)
    shape.kind = geohash.CIRCLE


def _box(shape: geohash.Shape, width_arg: bytes, height_arg: bytes, unit: bytes) -> None:
    width = _parse_double(width_arg, b"ERR need numeric width")
    height = _parse_double(height_arg, b"ERR need numeric height")
    if height < 0 or width < 0:
        raise ErrorReply(b"ERR height or width cannot be negative")
    shape.width = width
    shape.height = height
    shape.unit = _unit(unit)
    shape.kind = geohash.BOX


def _collect(zs: ZSetValue, shape: geohash.Shape, limit: int) -> list[tuple[float, float, float, float, bytes]]:
    """Members inside ``shape`` as (dist, lon, lat, score, member), in scan order; with a
    ``limit`` (COUNT ANY) the scan stops as soon as that many were found."""
    found: list[tuple[float, float, float, float, bytes]] = []
    sl = zs.sl
    for low, high in geohash.search_boxes(shape):
        if limit and len(found) >= limit:
            break
        lo, hi = zs.score_span(ScoreRange(low, high, False, True))
        for index in range(lo, hi):
            score, member = sl[index]
            lon, lat = geohash.decode_score(score)
            dist = shape.contains(lon, lat)
            if dist is not None:
                found.append((dist, lon, lat, score, member))
            if limit and len(found) >= limit:
                break
    return found


def _hash_integer(score: float) -> int:
    # (long long) of the score; out-of-range values give the x86 "indefinite" integer.
    if -(2.0**63) <= score < 2.0**63:
        return int(score)
    return -(2**63)


def _georadius(client: Client, argv: list[bytes], src_index: int, flags: int) -> Any:
    zs = _read(client, argv[src_index])
    shape = geohash.Shape()
    store_key: bytes | None = None
    storedist = False
    if flags & RADIUS_COORDS:
        base = 6
        shape.lon, shape.lat = _lonlat(argv[2], argv[3])
        _radius(shape, argv[4], argv[5])
    elif flags & RADIUS_MEMBER:
        base = 5
        if zs is not None:
            shape.lon, shape.lat = _member_position(zs, argv[2])
            _radius(shape, argv[3], argv[4])
    else:
        base = 2
        if flags & SEARCH_STORE:
            base = 3
            store_key = argv[1]

    withdist = withhash = withcoord = anyflag = False
    frommember = fromloc = byradius = bybox = bypolygon = False
    sort = SORT_NONE
    count = 0
    argc = len(argv)
    remaining = argc - base
    i = 0
    search = bool(flags & SEARCH)
    while i < remaining:
        arg = argv[base + i].lower()
        if arg == b"withdist":
            withdist = True
        elif arg == b"withhash":
            withhash = True
        elif arg == b"withcoord":
            withcoord = True
        elif arg == b"any":
            anyflag = True
        elif arg == b"asc":
            sort = SORT_ASC
        elif arg == b"desc":
            sort = SORT_DESC
        elif arg == b"count" and i + 1 < remaining:
            value = parse_int(argv[base + i + 1])
            if value is None:
                raise ErrorReply(msg.NOT_INTEGER)
            if value <= 0:
                raise ErrorReply(b"ERR COUNT must be > 0")
            count = value
            i += 1
        elif arg in (b"store", b"storedist") and i + 1 < remaining and not flags & (NO_STORE | SEARCH):
            store_key = argv[base + i + 1]
            storedist = arg == b"storedist"
            i += 1
        elif arg == b"storedist" and flags & SEARCH_STORE:
            storedist = True
        elif arg == b"frommember" and i + 1 < remaining and search and not fromloc and not bypolygon:
            if zs is not None:
                shape.lon, shape.lat = _member_position(zs, argv[base + i + 1])
            frommember = True
            i += 1
        elif arg == b"fromlonlat" and i + 2 < remaining and search and not frommember and not bypolygon:
            shape.lon, shape.lat = _lonlat(argv[base + i + 1], argv[base + i + 2])
            fromloc = True
            i += 2
        elif arg == b"byradius" and i + 2 < remaining and search and not bybox and not bypolygon:
            _radius(shape, argv[base + i + 1], argv[base + i + 2])
            byradius = True
            i += 2
        elif arg == b"bybox" and i + 3 < remaining and search and not byradius and not bypolygon:
            _box(shape, argv[base + i + 1], argv[base + i + 2], argv[base + i + 3])
            bybox = True
            i += 3
        elif arg == b"bypolygon" and i + 2 < remaining and search and not (byradius or bybox or frommember or fromloc):
            vertices = parse_int(argv[base + i + 1])
            if vertices is None or not -(2**31) <= vertices < 2**31:
                raise ErrorReply(b"ERR invalid number of vertices")
            if vertices < 3 or (remaining - i - 2) // 2 < vertices:
                raise ErrorReply(b"ERR GEOSEARCH BYPOLYGON must have at least 3 vertices")
            at = base + i + 2
            shape.vertices = [_lonlat(argv[at + 2 * v], argv[at + 2 * v + 1]) for v in range(vertices)]
            shape.unit = 1.0
            shape.kind = geohash.POLYGON
            bypolygon = True
            i += 1 + vertices * 2
        else:
            raise ErrorReply(msg.SYNTAX)
        i += 1

    if store_key is not None and (withdist or withhash or withcoord):
        what = b"GEOSEARCHSTORE" if flags & SEARCH_STORE else b"STORE option in GEORADIUS"
        raise ErrorReply(b"ERR %s is not compatible with WITHDIST, WITHHASH and WITHCOORD options" % what)
    if search and not (frommember or fromloc) and not bypolygon:
        raise ErrorReply(b"ERR exactly one of FROMMEMBER or FROMLONLAT can be specified for %s" % argv[0])
    if search and not (byradius or bybox or bypolygon):
        raise ErrorReply(b"ERR exactly one of BYRADIUS, BYBOX and BYPOLYGON can be specified for %s" % argv[0])
    if anyflag and not count:
        raise ErrorReply(b"ERR the ANY argument requires COUNT argument")

    db = client.db
    if zs is None:
        if store_key is None:
            return []
        if db.delete(store_key):
            db.notify(NOTIFY_GENERIC, b"del", store_key)
            client.server.keyspace.dirty += 1
        return 0

    if count and sort == SORT_NONE and not anyflag:
        sort = SORT_ASC
    found = _collect(zs, shape, count if anyflag else 0)
    if not found and store_key is None:
        return []
    total = len(found)
    returned = total if not count or total < count else count
    if sort != SORT_NONE:
        descending = sort == SORT_DESC
        if returned == total:
            # glibc's qsort is a merge sort here: stable.
            found.sort(key=_by_distance, reverse=descending)
        else:
            partial_quicksort(found, 0, returned - 1, descending)

    unit = shape.unit
    if store_key is None:
        options = withdist or withhash or withcoord
        out: list[Any] = []
        for dist, lon, lat, score, member in found[:returned]:
            if not options:
                out.append(member)
                continue
            item: list[Any] = [member]
            if withdist:
                item.append(_distance_text(dist / unit))
            if withhash:
                item.append(_hash_integer(score))
            if withcoord:
                item.append([_coord_reply(client, lon), _coord_reply(client, lat)])
            out.append(item)
        return out

    if not returned:
        if db.delete(store_key):
            db.notify(NOTIFY_GENERIC, b"del", store_key)
            client.server.keyspace.dirty += 1
        return 0
    result = ZSetValue(False)
    result.load({member: (dist / unit if storedist else score) for dist, _, _, score, member in found[:returned]})
    config = client.server.config
    result.fit_encoding(config.zset_max_listpack_entries, config.zset_max_listpack_value)
    db.set(store_key, result)
    db.notify(NOTIFY_ZSET, b"geosearchstore" if search else b"georadiusstore", store_key)
    client.server.keyspace.dirty += returned
    return returned


def _by_distance(entry: tuple[float, float, float, float, bytes]) -> float:
    return entry[0]


@command("geosearch")
def geosearch(client: Client, argv: list[bytes]) -> Any:
    return _georadius(client, argv, 1, SEARCH)


@command("geosearchstore")
def geosearchstore(client: Client, argv: list[bytes]) -> Any:
    return _georadius(client, argv, 2, SEARCH | SEARCH_STORE)


@command("georadius")
def georadius(client: Client, argv: list[bytes]) -> Any:
    return _georadius(client, argv, 1, RADIUS_COORDS)


@command("georadius_ro")
def georadius_ro(client: Client, argv: list[bytes]) -> Any:
    return _georadius(client, argv, 1, RADIUS_COORDS | NO_STORE)


@command("georadiusbymember")
def georadiusbymember(client: Client, argv: list[bytes]) -> Any:
    return _georadius(client, argv, 1, RADIUS_MEMBER)


@command("georadiusbymember_ro")
def georadiusbymember_ro(client: Client, argv: list[bytes]) -> Any:
    return _georadius(client, argv, 1, RADIUS_MEMBER | NO_STORE)
