"""Geohash arithmetic for the geo commands: the 52-bit interleaved cell numbers Valkey keeps as
sorted set scores, their decoding to cell centres, the standard base-32 geohash text, the
haversine distance, and the planning of an area search (the centre cell at a step chosen from
the search size plus its eight neighbours, each a score interval to scan).

Everything is computed with the same double arithmetic, in the same order, as Valkey's geohash
code, because the visible results (scores, printed coordinates, which cells get scanned and so
which members COUNT ANY returns first) depend on the last bit.

Cells: a position is encoded at ``step`` bits per axis (26 for stored members); latitude bits go
to even positions and longitude bits to odd ones. The latitude range is the Web Mercator one,
+-85.05112878, not +-90.
"""

from __future__ import annotations

import math

__all__ = [
    "LAT_MAX",
    "LAT_MIN",
    "LONG_MAX",
    "LONG_MIN",
    "STEP_MAX",
    "Shape",
    "coords_valid",
    "decode_score",
    "distance",
    "encode",
    "geohash_text",
    "search_boxes",
]

LONG_MIN = -180.0
LONG_MAX = 180.0
LAT_MIN = -85.05112878
LAT_MAX = 85.05112878
STEP_MAX = 26

EARTH_RADIUS = 6372797.560856
MERCATOR_MAX = 20037726.37
_D_R = math.pi / 180.0

_U64 = (1 << 64) - 1
_EVEN = 0x5555555555555555
_ODD = 0xAAAAAAAAAAAAAAAA
_TWO63 = 2.0**63
_BASE32 = b"0123456789bcdefghjkmnpqrstuvwxyz"


def coords_valid(lon: float, lat: float) -> bool:
    return LONG_MIN <= lon <= LONG_MAX and LAT_MIN <= lat <= LAT_MAX


# -- bit interleaving ------------------------------------------------------------------------


def _spread(v: int) -> int:
    """The 32 low bits of ``v`` moved to the even bit positions of a 64-bit word."""
    v = (v | (v << 16)) & 0x0000FFFF0000FFFF
    v = (v | (v << 8)) & 0x00FF00FF00FF00FF
    v = (v | (v << 4)) & 0x0F0F0F0F0F0F0F0F
    v = (v | (v << 2)) & 0x3333333333333333
    return (v | (v << 1)) & _EVEN


def _gather(v: int) -> int:
    """The inverse of ``_spread``: the even bits of ``v`` packed into 32 bits."""
    v &= _EVEN
    v = (v | (v >> 1)) & 0x3333333333333333
    v = (v | (v >> 2)) & 0x0F0F0F0F0F0F0F0F
    v = (v | (v >> 4)) & 0x00FF00FF00FF00FF
    v = (v | (v >> 8)) & 0x0000FFFF0000FFFF
    return (v | (v >> 16)) & 0xFFFFFFFF


def encode(lon: float, lat: float, step: int, lat_min: float = LAT_MIN, lat_max: float = LAT_MAX) -> int:
    """The cell number of a position at ``step`` bits per axis (the caller checked the limits).

    The offsets are truncated to integers as a C cast does; a coordinate on the upper limit
    gives an offset of 2**step, one bit beyond the cell range, exactly as Valkey's encoder."""
    lat_offset = (lat - lat_min) / (lat_max - lat_min) * float(1 << step)
    lon_offset = (lon - LONG_MIN) / (LONG_MAX - LONG_MIN) * float(1 << step)
    return _spread(int(lat_offset)) | (_spread(int(lon_offset)) << 1)


def _cell(bits: int, step: int) -> tuple[float, float, float, float]:
    """(lon_min, lon_max, lat_min, lat_max) of a cell in the Mercator ranges."""
    ilat = _gather(bits)
    ilon = _gather(bits >> 1)
    cells = float(1 << step)
    lat_scale = LAT_MAX - LAT_MIN
    lon_scale = LONG_MAX - LONG_MIN
    return (
        LONG_MIN + (ilon * 1.0 / cells) * lon_scale,
        LONG_MIN + ((ilon + 1) * 1.0 / cells) * lon_scale,
        LAT_MIN + (ilat * 1.0 / cells) * lat_scale,
        LAT_MIN + ((ilat + 1) * 1.0 / cells) * lat_scale,
    )


def _score_bits(score: float) -> int:
    """A score converted to uint64 as x86-64 code compiled by gcc converts it (scores written
    by ZADD need not be geohashes: negative, fractional or huge values wrap the same way)."""
    if score < _TWO63:
        if score > -_TWO63 - 1.0 and not math.isinf(score):
            return int(score) & _U64
        return 1 << 63
    rest = score - _TWO63
    if math.isinf(rest) or rest >= _TWO63:
        return 0
    return (int(rest) ^ (1 << 63)) & _U64


def decode_score(score: float) -> tuple[float, float]:
    """The (longitude, latitude) a member's score stands for: the centre of its 26-step cell,
    clamped to the valid limits."""
    lon_lo, lon_hi, lat_lo, lat_hi = _cell(_score_bits(score), STEP_MAX)
    lon = (lon_lo + lon_hi) / 2
    lat = (lat_lo + lat_hi) / 2
    return min(max(lon, LONG_MIN), LONG_MAX), min(max(lat, LAT_MIN), LAT_MAX)


def geohash_text(score: float) -> bytes:
    """GEOHASH's 11 characters: the position re-encoded against the standard -90..90 latitude
    range; 52 bits make ten characters, the eleventh is always ``0``."""
    lon, lat = decode_score(score)
    bits = encode(lon, lat, STEP_MAX, -90.0, 90.0)
    out = bytearray(11)
    for i in range(10):
        out[i] = _BASE32[(bits >> (52 - (i + 1) * 5)) & 0x1F]
    out[10] = _BASE32[0]
    return bytes(out)


# -- distances -------------------------------------------------------------------------------


def _cos(x: float) -> float:
    # C's cos/sin/asin give NaN outside their domain (infinite search sizes get here); Python raises.
    return math.cos(x) if math.isfinite(x) else math.nan


def _asin(x: float) -> float:
    return math.asin(x) if -1.0 <= x <= 1.0 else math.nan


def _lat_distance(lat1: float, lat2: float) -> float:
    return EARTH_RADIUS * abs(lat2 * _D_R - lat1 * _D_R)


def distance(lon1: float, lat1: float, lon2: float, lat2: float) -> float:
    """Haversine distance in metres on Valkey's sphere."""
    lon1r = lon1 * _D_R
    lon2r = lon2 * _D_R
    v = math.sin((lon2r - lon1r) / 2)
    if v == 0.0:
        return _lat_distance(lat1, lat2)
    lat1r = lat1 * _D_R
    lat2r = lat2 * _D_R
    u = math.sin((lat2r - lat1r) / 2)
    a = u * u + math.cos(lat1r) * math.cos(lat2r) * v * v
    return 2.0 * EARTH_RADIUS * _asin(math.sqrt(a))


# -- search shapes ---------------------------------------------------------------------------

CIRCLE = 0
BOX = 1
POLYGON = 2


class Shape:
    """A search area: centre (``lon``, ``lat``), sizes in ``unit`` (metres per unit), or a
    polygon's vertices (degrees; its centre is computed when the search is planned)."""

    __slots__ = ("height", "kind", "lat", "lon", "radius", "unit", "vertices", "width")

    def __init__(self) -> None:
        self.kind = CIRCLE
        self.lon = 0.0
        self.lat = 0.0
        self.radius = 0.0
        self.width = 0.0
        self.height = 0.0
        self.unit = 1.0
        self.vertices: list[tuple[float, float]] = []

    def contains(self, lon: float, lat: float) -> float | None:
        """Distance in metres from the centre when (lon, lat) is inside, else None."""
        if self.kind == CIRCLE:
            dist = distance(self.lon, self.lat, lon, lat)
            return None if dist > self.radius * self.unit else dist
        if self.kind == BOX:
            if _lat_distance(lat, self.lat) > self.height * self.unit / 2:
                return None
            if distance(lon, lat, self.lon, lat) > self.width * self.unit / 2:
                return None
            return distance(self.lon, self.lat, lon, lat)
        # Ray casting: count the edges a ray going west from the point crosses.
        inside = False
        vertices = self.vertices
        j = len(vertices) - 1
        for i in range(len(vertices)):
            ax, ay = vertices[i]
            bx, by = vertices[j]
            if (ay > lat) != (by > lat) and lon < (bx - ax) * (lat - ay) / (by - ay) + ax:
                inside = not inside
            j = i
        return distance(self.lon, self.lat, lon, lat) if inside else None

    def bounds(self) -> tuple[float, float, float, float]:
        """(min_lon, min_lat, max_lon, max_lat) around the area; for a polygon this also sets
        the centre to the vertices' centroid (the direction of the sum of their unit vectors)."""
        if self.kind == POLYGON:
            min_lon, max_lon = LONG_MAX, LONG_MIN
            min_lat, max_lat = LAT_MAX, LAT_MIN
            # Sum of the unit vectors; its direction is the centroid (no scaling needed).
            x = y = z = 0.0
            for lon, lat in self.vertices:
                min_lon = min(min_lon, lon)
                max_lon = max(max_lon, lon)
                min_lat = min(min_lat, lat)
                max_lat = max(max_lat, lat)
                lon_r = lon * _D_R
                lat_r = lat * _D_R
                x += math.cos(lat_r) * math.cos(lon_r)
                y += math.cos(lat_r) * math.sin(lon_r)
                z += math.sin(lat_r)
            self.lon = math.atan2(y, x) / _D_R
            self.lat = math.atan2(z, math.sqrt(x * x + y * y)) / _D_R
            return min_lon, min_lat, max_lon, max_lat
        if self.kind == CIRCLE:
            height = width = self.unit * self.radius
        else:
            height = self.unit * self.height / 2
            width = self.unit * self.width / 2
        lon, lat = self.lon, self.lat
        lat_delta = (height / EARTH_RADIUS) / _D_R
        delta_top = (width / EARTH_RADIUS / _cos((lat + lat_delta) * _D_R)) / _D_R
        delta_bottom = (width / EARTH_RADIUS / _cos((lat - lat_delta) * _D_R)) / _D_R
        # The wider edge of the area is the one nearer the equator.
        delta = delta_bottom if lat < 0 else delta_top
        return lon - delta, lat - lat_delta, lon + delta, lat + lat_delta


def _estimate_step(meters: float, lat: float) -> int:
    if meters == 0:
        return 26
    step = 1
    while meters < MERCATOR_MAX:
        meters *= 2
        step += 1
    step -= 2
    if lat > 66 or lat < -66:
        step -= 1
        if lat > 80 or lat < -80:
            step -= 1
    return max(1, min(26, step))


def _move(bits: int, step: int, dlon: int, dlat: int) -> int:
    """The neighbouring cell (wrapping around at the edges of the grid)."""
    width = 64 - step * 2
    if dlon:
        x = bits & _ODD
        y = bits & _EVEN
        zz = _EVEN >> width
        x = (x + (zz + 1)) if dlon > 0 else ((x | zz) - (zz + 1))
        x &= _U64 & (_ODD >> width)
        bits = x | y
    if dlat:
        x = bits & _ODD
        y = bits & _EVEN
        zz = _ODD >> width
        y = (y + (zz + 1)) if dlat > 0 else ((y | zz) - (zz + 1))
        y &= _U64 & (_EVEN >> width)
        bits = x | y
    return bits


# Neighbour order as Valkey scans them: centre, N, S, E, W, NE, NW, SE, SW (dlon, dlat).
_DIRECTIONS = ((0, 1), (0, -1), (1, 0), (-1, 0), (1, 1), (-1, 1), (1, -1), (-1, -1))


def search_boxes(shape: Shape) -> list[tuple[float, float]]:
    """The score intervals [min, max) to scan, in Valkey's order, for ``shape``: the centre
    cell and its neighbours at the step estimated from the size, one step coarser when a
    neighbour does not reach the bounding box, minus neighbours lying outside it. Consecutive
    repeats of a cell (huge areas wrap around) are scanned once."""
    min_lon, min_lat, max_lon, max_lat = shape.bounds()
    lon, lat = shape.lon, shape.lat
    if shape.kind == CIRCLE:
        meters = shape.radius
    elif shape.kind == BOX:
        meters = math.sqrt((shape.width / 2) * (shape.width / 2) + (shape.height / 2) * (shape.height / 2))
    else:
        meters = max(
            distance(lon, lat, min_lon, max_lat),
            distance(lon, lat, max_lon, max_lat),
            distance(lon, lat, min_lon, min_lat),
            distance(lon, lat, max_lon, min_lat),
        )
    meters *= shape.unit
    step = _estimate_step(meters, lat)
    centre = encode(lon, lat, step)
    north = _cell(_move(centre, step, 0, 1), step)
    south = _cell(_move(centre, step, 0, -1), step)
    east = _cell(_move(centre, step, 1, 0), step)
    west = _cell(_move(centre, step, -1, 0), step)
    if step > 1 and (north[3] < max_lat or south[2] > min_lat or east[1] < max_lon or west[0] > min_lon):
        step -= 1
        centre = encode(lon, lat, step)
    cells: list[int | None] = [centre] + [_move(centre, step, dx, dy) for dx, dy in _DIRECTIONS]
    if step >= 2:
        area = _cell(centre, step)
        if area[2] < min_lat:  # south side useless
            cells[2] = cells[7] = cells[8] = None
        if area[3] > max_lat:
            cells[1] = cells[5] = cells[6] = None
        if area[0] < min_lon:
            cells[4] = cells[8] = cells[6] = None
        if area[1] > max_lon:
            cells[3] = cells[7] = cells[5] = None
    shift = 52 - step * 2
    boxes: list[tuple[float, float]] = []
    last = 0
    for i, bits in enumerate(cells):
        if bits is None:
            continue
        if last and bits == cells[last]:
            continue
        boxes.append((float(bits << shift), float((bits + 1) << shift)))
        last = i
    return boxes
