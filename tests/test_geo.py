"""Geo commands, differential against the real Valkey in RESP2 and RESP3."""

from __future__ import annotations

import random
import time

import pytest
from conftest import Differ
from resp import RawClient


@pytest.fixture(params=[2, 3], ids=["resp2", "resp3"])
def d(request: pytest.FixtureRequest, diff: Differ) -> Differ:
    if request.param == 3:
        diff.resp3()
    return diff


PLACES = [
    ("13.361389", "38.115556", "Palermo"),
    ("15.087269", "37.502669", "Catania"),
    ("12.758489", "38.788135", "edge1"),
    ("12.496366", "41.902782", "Rome"),
    ("-0.127758", "51.507351", "London"),
    ("2.352222", "48.856613", "Paris"),
    ("-73.935242", "40.730610", "NewYork"),
    ("139.691711", "35.689487", "Tokyo"),
    ("-58.381592", "-34.603722", "BuenosAires"),
    ("151.209290", "-33.868820", "Sydney"),
]


def _places(d: Differ, key: str = "g") -> None:
    args: list[str] = []
    for lon, lat, name in PLACES:
        args += [lon, lat, name]
    d("GEOADD", key, *args)


# -- GEOADD --------------------------------------------------------------------------------------


def test_geoadd_scores_and_flags(d: Differ) -> None:
    _places(d)
    d("ZRANGE", "g", "0", "-1", "WITHSCORES")
    for _, _, name in PLACES:
        d("ZSCORE", "g", name)
    d("GEOADD", "g", "13.361389", "38.115556", "Palermo", "1", "1", "new")
    d("GEOADD", "g", "CH", "13.5", "38.1", "Palermo", "1", "1", "new2")
    d("GEOADD", "g", "NX", "0", "0", "Palermo", "2", "2", "new3")
    d("GEOADD", "g", "XX", "0", "0", "Palermo", "2", "2", "new4")
    d("GEOADD", "g", "XX", "CH", "1", "1", "Palermo", "2", "2", "new5")
    d("GEOADD", "g", "ch", "nx", "ch", "3", "3", "new6")
    d("ZRANGE", "g", "0", "-1", "WITHSCORES")
    d("GEOADD", "nokey", "XX", "1", "1", "a")
    d("EXISTS", "nokey")
    d("OBJECT", "ENCODING", "g")


def test_geoadd_errors(d: Differ) -> None:
    d("GEOADD", "g", "1", "2")
    d("GEOADD", "g", "1", "2", "a", "3")
    d("GEOADD", "g", "NX", "XX", "1", "2", "a")
    d("GEOADD", "g", "GT", "1", "2", "a")
    d("GEOADD", "g", "x", "2", "a")
    d("GEOADD", "g", "1", "y", "a")
    d("GEOADD", "g", " 1", "2", "a")
    d("GEOADD", "g", "1e400", "2", "a")
    d("GEOADD", "g", "nan", "2", "a")
    d("GEOADD", "g", "181", "20", "a")
    d("GEOADD", "g", "-180.0001", "20", "a")
    d("GEOADD", "g", "10", "85.05112879", "a")
    d("GEOADD", "g", "10", "-85.06", "a")
    d("GEOADD", "g", "10", "90", "a")
    d("GEOADD", "g", "inf", "1", "a")
    d("GEOADD", "g", "1", "-inf", "a")
    d("GEOADD", "g", "1", "1", "ok", "500", "1", "bad")
    d("EXISTS", "g")
    d("SET", "s", "x")
    d("GEOADD", "s", "1", "1", "a")
    d("GEOADD", "s", "1000", "1", "a")


def test_geoadd_edges(d: Differ) -> None:
    d(
        "GEOADD", "e",
        "180", "85.05112878", "ne", "-180", "-85.05112878", "sw", "180", "-85.05112878", "se",
        "-180", "85.05112878", "nw", "0", "0", "origin", "179.9999999", "0", "am1", "-179.9999999", "0", "am2",
        "0", "85.05112877", "top", "-0", "-0", "negzero", "1e-300", "-1e-300", "tiny",
    )  # fmt: skip
    d("ZRANGE", "e", "0", "-1", "WITHSCORES")
    names = ["ne", "sw", "se", "nw", "origin", "am1", "am2", "top", "negzero", "tiny"]
    d("GEOPOS", "e", *names)
    d("GEOHASH", "e", *names)
    d("GEODIST", "e", "am1", "am2")
    d("GEODIST", "e", "ne", "sw", "km")
    d("GEODIST", "e", "ne", "nw")
    d("GEOSEARCH", "e", "FROMMEMBER", "am1", "BYRADIUS", "100", "km", "ASC", "WITHDIST")
    d("GEOSEARCH", "e", "FROMLONLAT", "0", "85", "BYRADIUS", "1000", "km", "ASC", "WITHDIST", "WITHCOORD")
    d("GEOSEARCH", "e", "FROMLONLAT", "0", "-85", "BYBOX", "40000", "1000", "km", "DESC", "WITHHASH")


# -- GEOPOS / GEODIST / GEOHASH ------------------------------------------------------------------


def test_geopos_geodist_geohash(d: Differ) -> None:
    _places(d)
    d("GEOPOS", "g", "Palermo", "Catania", "missing", "Sydney")
    d("GEOPOS", "nokey", "a", "b")
    d("GEOPOS", "g")
    d("GEOHASH", "g", "Palermo", "Catania", "missing", "Tokyo", "BuenosAires")
    d("GEOHASH", "nokey", "a")
    d("GEOHASH", "g")
    d("GEODIST", "g", "Palermo", "Catania")
    for unit in ("m", "km", "ft", "mi", "KM", "Mi"):
        d("GEODIST", "g", "Palermo", "Sydney", unit)
    d("GEODIST", "g", "Palermo", "Palermo")
    d("GEODIST", "g", "Palermo", "missing")
    d("GEODIST", "nokey", "a", "b")
    d("GEODIST", "nokey", "a", "b", "km")
    d("GEODIST", "g", "Palermo", "Catania", "yd")
    d("GEODIST", "nokey", "a", "b", "yd")
    d("GEODIST", "g", "Palermo", "Catania", "km", "extra")
    d("SET", "s", "x")
    d("GEOPOS", "s", "a")
    d("GEOHASH", "s", "a")
    d("GEODIST", "s", "a", "b")
    d("GEODIST", "s", "a", "b", "yd")
    d("GEOSEARCH", "s", "FROMLONLAT", "0", "0", "BYRADIUS", "1", "km")
    d("GEORADIUS", "s", "0", "0", "1", "km")
    d("GEORADIUSBYMEMBER", "s", "a", "1", "km")
    d("GEOSEARCHSTORE", "dst", "s", "FROMLONLAT", "0", "0", "BYRADIUS", "1", "km")
    d("GEORADIUS", "g", "0", "0", "1", "km", "STORE", "s")
    d("TYPE", "s")


def test_non_geo_scores(d: Differ) -> None:
    d("ZADD", "z", "0", "zero", "1.5", "frac", "-1", "neg", "-1e30", "hugeneg", "1e30", "huge", "inf", "pinf",
      "-inf", "ninf", "4503599627370496", "two52", "18014398509481984", "two54", "9.3e18", "over63")  # fmt: skip
    names = ["zero", "frac", "neg", "hugeneg", "huge", "pinf", "ninf", "two52", "two54", "over63"]
    d("GEOPOS", "z", *names)
    d("GEOHASH", "z", *names)
    d("GEODIST", "z", "zero", "frac")
    d("GEODIST", "z", "neg", "huge")
    d("GEOSEARCH", "z", "FROMLONLAT", "-180", "-85.05112878", "BYRADIUS", "10", "km", "WITHHASH", "WITHCOORD", "WITHDIST")
    d("GEOSEARCH", "z", "FROMMEMBER", "frac", "BYRADIUS", "10", "km", "WITHHASH", "ASC")


# -- GEOSEARCH -----------------------------------------------------------------------------------


def test_geosearch_options(d: Differ) -> None:
    _places(d)
    base = ["GEOSEARCH", "g", "FROMLONLAT", "15", "37"]
    d(*base, "BYRADIUS", "200", "km")
    d(*base, "BYRADIUS", "200", "km", "ASC")
    d(*base, "BYRADIUS", "200", "km", "DESC")
    d(*base, "BYRADIUS", "2000", "km", "ASC", "COUNT", "3")
    d(*base, "BYRADIUS", "2000", "km", "DESC", "COUNT", "2")
    d(*base, "BYRADIUS", "2000", "km", "COUNT", "2")
    d(*base, "BYRADIUS", "2000", "km", "COUNT", "2", "ANY")
    d(*base, "BYRADIUS", "2000", "km", "COUNT", "2", "ANY", "DESC")
    d(*base, "BYRADIUS", "2000", "km", "COUNT", "100", "ANY", "ASC")
    d(*base, "BYRADIUS", "200", "km", "WITHDIST", "WITHCOORD", "WITHHASH")
    d(*base, "BYRADIUS", "200", "km", "WITHHASH")
    d(*base, "BYRADIUS", "200", "km", "WITHCOORD", "withdist", "asc")
    d(*base, "BYRADIUS", "124000", "m", "WITHDIST")
    d(*base, "BYRADIUS", "400000", "ft", "WITHDIST")
    d(*base, "BYRADIUS", "100", "mi", "WITHDIST")
    d(*base, "BYRADIUS", "0", "km", "WITHDIST")
    d(*base, "BYBOX", "400", "400", "km", "WITHDIST", "ASC")
    d(*base, "BYBOX", "400", "100", "km", "WITHDIST", "ASC")
    d(*base, "BYBOX", "10000", "10000", "km", "WITHDIST", "ASC", "COUNT", "4")
    d(*base, "BYBOX", "0", "0", "km")
    d(*base, "BYRADIUS", "inf", "km", "WITHDIST")
    d(*base, "BYBOX", "inf", "inf", "km", "WITHDIST", "ASC")
    d(*base, "BYBOX", "inf", "10", "km", "WITHDIST", "ASC")
    d(*base, "BYRADIUS", "1e400", "km")
    d("GEOSEARCH", "g", "FROMLONLAT", "0", "0", "BYRADIUS", "+1e3", "km", "WITHDIST")
    d("GEOSEARCH", "g", "FROMMEMBER", "Palermo", "BYRADIUS", "300", "km", "WITHDIST", "ASC")
    d("GEOSEARCH", "g", "FROMMEMBER", "Paris", "BYBOX", "2000", "2000", "km", "WITHDIST", "DESC")
    d("GEOSEARCH", "g", "BYRADIUS", "300", "km", "FROMMEMBER", "Palermo")
    d("GEOSEARCH", "g", "FROMLONLAT", "0", "0", "BYRADIUS", "20000", "km", "ASC", "WITHDIST")
    d("GEOSEARCH", "g", "FROMLONLAT", "0", "0", "BYRADIUS", "20000", "km", "WITHDIST")
    d("GEOSEARCH", "g", "FROMLONLAT", "170", "80", "BYBOX", "40000", "20000", "km")
    d("GEOSEARCH", "g", "FROMLONLAT", "1", "1", "BYRADIUS", "1", "km")
    d("GEOSEARCH", "nokey", "FROMLONLAT", "1", "1", "BYRADIUS", "1", "km")
    d("GEOSEARCH", "nokey", "FROMMEMBER", "x", "BYRADIUS", "1", "km")


def test_geosearch_errors(d: Differ) -> None:
    _places(d)
    for key in ("g", "nokey"):
        d("GEOSEARCH", key, "FROMLONLAT", "15", "37", "COUNT", "1")
        d("GEOSEARCH", key, "BYRADIUS", "1", "km", "COUNT", "1")
        d("geosearch", key, "BYRADIUS", "1", "km", "COUNT", "1")
        d("GeoSearch", key, "FROMLONLAT", "1", "1", "ASC")
        d("GEOSEARCH", key, "FROMLONLAT", "1", "1", "BYRADIUS", "1", "km", "ANY")
        d("GEOSEARCH", key, "FROMLONLAT", "1", "1", "BYRADIUS", "1", "km", "COUNT", "0")
        d("GEOSEARCH", key, "FROMLONLAT", "1", "1", "BYRADIUS", "1", "km", "COUNT", "-1")
        d("GEOSEARCH", key, "FROMLONLAT", "1", "1", "BYRADIUS", "1", "km", "COUNT", "x")
        d("GEOSEARCH", key, "FROMLONLAT", "1", "1", "BYRADIUS", "1", "km", "COUNT")
        d("GEOSEARCH", key, "FROMLONLAT", "1", "1", "BYRADIUS", "1", "km", "STORE", "x")
        d("GEOSEARCH", key, "FROMLONLAT", "1", "1", "BYRADIUS", "1", "km", "STOREDIST")
        d("GEOSEARCH", key, "FROMLONLAT", "1", "1", "BYRADIUS", "x", "km")
        d("GEOSEARCH", key, "FROMLONLAT", "1", "1", "BYRADIUS", "-1", "km")
        d("GEOSEARCH", key, "FROMLONLAT", "1", "1", "BYRADIUS", "1", "yd")
        d("GEOSEARCH", key, "FROMLONLAT", "1", "1", "BYRADIUS", "1")
        d("GEOSEARCH", key, "FROMLONLAT", "1", "1", "BYBOX", "x", "1", "km")
        d("GEOSEARCH", key, "FROMLONLAT", "1", "1", "BYBOX", "1", "x", "km")
        d("GEOSEARCH", key, "FROMLONLAT", "1", "1", "BYBOX", "-1", "1", "km")
        d("GEOSEARCH", key, "FROMLONLAT", "1", "1", "BYBOX", "1", "-1", "km")
        d("GEOSEARCH", key, "FROMLONLAT", "1", "1", "BYBOX", "1", "1", "yd")
        d("GEOSEARCH", key, "FROMLONLAT", "1", "1", "BYBOX", "1", "1")
        d("GEOSEARCH", key, "FROMLONLAT", "1", "1", "BYRADIUS", "1", "km", "BYBOX", "1", "1", "km")
        d("GEOSEARCH", key, "FROMLONLAT", "1", "1", "FROMMEMBER", "Rome", "BYRADIUS", "1", "km")
        d("GEOSEARCH", key, "FROMMEMBER", "Rome", "FROMLONLAT", "1", "1", "BYRADIUS", "1", "km")
        d("GEOSEARCH", key, "FROMMEMBER", "nosuch", "BYRADIUS", "1", "km")
        d("GEOSEARCH", key, "FROMMEMBER", "bad\nname", "BYRADIUS", "1", "km")
        d("GEOSEARCH", key, "FROMMEMBER", "nul\x00name", "BYRADIUS", "1", "km")
        d("GEOSEARCH", key, "FROMLONLAT", "200", "1", "BYRADIUS", "1", "km")
        d("GEOSEARCH", key, "FROMLONLAT", "x", "1", "BYRADIUS", "1", "km")
        d("GEOSEARCH", key, "FROMLONLAT", "1", "1", "BYRADIUS", "1", "km", "WITHDIST", "BOGUS")
        d("GEOSEARCH", key, "FROMLONLAT", "1", "1", "BYRADIUS", "1", "km", "COUNT", "1", "WITHHASH", "ANY")
        d("GEOSEARCH", key, "FROMLONLAT", "1", "1", "BYRADIUS", "1", "km", "COUNT", "99999999999999999999")
        d("GEOSEARCHSTORE", "dst", key, "FROMLONLAT", "1", "1", "BYRADIUS", "1", "km", "WITHDIST")
        d("GEOSEARCHSTORE", "dst", key, "FROMLONLAT", "1", "1", "BYRADIUS", "1", "km", "STORE", "x")
        d("GEOSEARCHSTORE", "dst", key, "FROMLONLAT", "1", "1", "WITHCOORD")
        d("GEOSEARCHSTORE", "dst", key, "BYRADIUS", "1", "km")


def test_geosearchstore(d: Differ) -> None:
    _places(d)
    base = ["g", "FROMLONLAT", "15", "37", "BYRADIUS", "3000", "km"]
    d("GEOSEARCHSTORE", "dst", *base)
    d("ZRANGE", "dst", "0", "-1", "WITHSCORES")
    d("OBJECT", "ENCODING", "dst")
    d("GEOSEARCHSTORE", "dst", *base, "STOREDIST")
    d("ZRANGE", "dst", "0", "-1", "WITHSCORES")
    d("GEOSEARCHSTORE", "dst", *base, "STOREDIST", "COUNT", "2", "DESC")
    d("ZRANGE", "dst", "0", "-1", "WITHSCORES")
    d("GEOSEARCHSTORE", "dst", "g", "FROMLONLAT", "15", "37", "BYBOX", "1000", "1000", "mi", "STOREDIST")
    d("ZRANGE", "dst", "0", "-1", "WITHSCORES")
    d("SET", "str", "x", "EX", "100")
    d("GEOSEARCHSTORE", "str", *base, "COUNT", "1", "ANY")
    d("TYPE", "str")
    d("TTL", "str")
    d("GEOSEARCHSTORE", "dst", "g", "FROMLONLAT", "0", "0", "BYRADIUS", "1", "km")
    d("EXISTS", "dst")
    d("GEOSEARCHSTORE", "str", "nokey", "FROMLONLAT", "0", "0", "BYRADIUS", "1", "km")
    d("EXISTS", "str")
    d("GEOSEARCHSTORE", "str", "nokey", "FROMLONLAT", "0", "0", "BYRADIUS", "1", "km")
    d("GEOSEARCHSTORE", "g", "g", "FROMMEMBER", "Rome", "BYRADIUS", "1000", "km")
    d("ZRANGE", "g", "0", "-1", "WITHSCORES")


def test_store_encoding_follows_limits(d: Differ) -> None:
    args: list[str] = []
    for i in range(140):
        args += [str(10 + i * 0.001), "20", f"m{i}"]
    d("GEOADD", "big", *args)
    d("OBJECT", "ENCODING", "big")
    d("GEOSEARCHSTORE", "dst", "big", "FROMLONLAT", "10", "20", "BYRADIUS", "50", "km")
    d("OBJECT", "ENCODING", "dst")
    d("GEOSEARCHSTORE", "dst", "big", "FROMLONLAT", "10", "20", "BYRADIUS", "50", "km", "COUNT", "100")
    d("OBJECT", "ENCODING", "dst")
    d("ZRANGE", "dst", "0", "-1", "WITHSCORES")
    d("GEOADD", "long", "1", "1", "x" * 65, "1.001", "1", "y")
    d("GEOSEARCHSTORE", "dst", "long", "FROMLONLAT", "1", "1", "BYRADIUS", "50", "km")
    d("OBJECT", "ENCODING", "dst")


# -- BYPOLYGON -----------------------------------------------------------------------------------


def test_bypolygon(d: Differ) -> None:
    _places(d)
    tri = ["BYPOLYGON", "3", "10", "35", "20", "35", "15", "45"]
    d("GEOSEARCH", "g", *tri)
    d("GEOSEARCH", "g", *tri, "WITHDIST", "WITHCOORD", "ASC")
    d("GEOSEARCH", "g", *tri, "COUNT", "1")
    d("GEOSEARCH", "g", "BYPOLYGON", "4", "-10", "30", "30", "30", "30", "60", "-10", "60", "DESC", "WITHDIST")
    d("GEOSEARCHSTORE", "dst", "g", *tri, "STOREDIST")
    d("ZRANGE", "dst", "0", "-1", "WITHSCORES")
    d("GEOSEARCH", "g", "BYPOLYGON", "2", "0", "0", "20", "0", "10", "30")
    d("GEOSEARCH", "g", "BYPOLYGON", "4", "0", "0", "20", "0", "10", "30")
    d("GEOSEARCH", "g", "BYPOLYGON", "x", "0", "0", "20", "0", "10", "30")
    d("GEOSEARCH", "g", "BYPOLYGON", "99999999999", "0", "0", "20", "0", "10", "30")
    d("GEOSEARCH", "g", "BYPOLYGON", "3", "0", "0", "200", "0", "10", "30")
    d("GEOSEARCH", "g", *tri, "BYRADIUS", "1", "km")
    d("GEOSEARCH", "g", *tri, "FROMLONLAT", "1", "1")
    d("GEOSEARCH", "g", "FROMLONLAT", "1", "1", *tri)
    d("GEOSEARCH", "g", "FROMMEMBER", "Rome", *tri)
    d("GEOSEARCH", "g", "BYPOLYGON", "3", "0", "0")
    d("GEOSEARCH", "nokey", *tri)


# -- GEORADIUS family ----------------------------------------------------------------------------


def test_georadius_family(d: Differ) -> None:
    _places(d)
    d("GEORADIUS", "g", "15", "37", "200", "km")
    d("GEORADIUS", "g", "15", "37", "2000", "km", "WITHDIST", "WITHCOORD", "WITHHASH", "ASC", "COUNT", "3")
    d("GEORADIUS_RO", "g", "15", "37", "2000", "km", "DESC", "COUNT", "2", "ANY")
    d("GEORADIUSBYMEMBER", "g", "Palermo", "500", "km", "WITHDIST", "ASC")
    d("GEORADIUSBYMEMBER_RO", "g", "Palermo", "500", "km", "WITHDIST", "DESC")
    d("GEORADIUS", "g", "15", "37", "2000", "km", "STORE", "dst")
    d("ZRANGE", "dst", "0", "-1", "WITHSCORES")
    d("GEORADIUS", "g", "15", "37", "2000", "km", "STOREDIST", "dst2", "COUNT", "2")
    d("ZRANGE", "dst2", "0", "-1", "WITHSCORES")
    d("GEORADIUSBYMEMBER", "g", "Rome", "2000", "km", "STORE", "dst3", "STOREDIST", "dst4")
    d("EXISTS", "dst3", "dst4")
    d("ZRANGE", "dst4", "0", "-1", "WITHSCORES")
    d("GEORADIUS", "g", "0", "0", "1", "km", "STORE", "dst")
    d("EXISTS", "dst")
    d("GEORADIUS", "nokey", "0", "0", "1", "km", "STORE", "dst2")
    d("EXISTS", "dst2")
    d("GEORADIUSBYMEMBER", "nokey", "x", "1", "km")
    d("GEORADIUSBYMEMBER", "nokey", "x", "bad", "yd", "STORE", "k")
    d("GEORADIUSBYMEMBER", "nokey", "x", "bad", "yd", "WITHDIST", "STORE", "k")
    # errors
    d("GEORADIUS", "g", "15", "37", "x", "km")
    d("GEORADIUS", "g", "15", "37", "-1", "km")
    d("GEORADIUS", "g", "15", "37", "1", "yd")
    d("GEORADIUS", "g", "500", "37", "1", "km")
    d("GEORADIUS", "g", "15", "37", "1", "km", "STORE", "x", "WITHDIST")
    d("GEORADIUS", "g", "15", "37", "1", "km", "STORE")
    d("GEORADIUS", "g", "15", "37", "1", "km", "FROMLONLAT", "1", "1")
    d("GEORADIUS", "g", "15", "37", "1", "km", "ANY")
    d("GEORADIUS_RO", "g", "15", "37", "1", "km", "STORE", "x")
    d("GEORADIUSBYMEMBER_RO", "g", "Rome", "1", "km", "STOREDIST", "x")
    d("GEORADIUSBYMEMBER", "g", "nosuch", "1", "km")
    d("GEORADIUSBYMEMBER", "g", "Rome", "x", "km")
    d("GEORADIUSBYMEMBER", "g", "nosuch", "x", "km")
    d("GEORADIUSBYMEMBER", "g", "Rome", "1", "km", "COUNT", "0")


# -- ties, COUNT and random points ---------------------------------------------------------------


def test_ties_and_partial_sort(d: Differ) -> None:
    # Many members at a handful of identical positions: the order of equal distances with
    # COUNT depends on Valkey's partial quicksort.
    args: list[str] = []
    rng = random.Random(7)
    for i in range(120):
        spot = rng.randrange(6)
        args += [str(10 + spot * 0.01), str(20 + (spot % 3) * 0.01), f"p{i}"]
    d("GEOADD", "t", *args)
    for count in ("1", "3", "7", "10", "41", "60", "119", "120", "500"):
        d("GEOSEARCH", "t", "FROMLONLAT", "10", "20", "BYRADIUS", "100", "km", "COUNT", count)
        d("GEOSEARCH", "t", "FROMLONLAT", "10.02", "20.01", "BYRADIUS", "100", "km", "COUNT", count, "DESC")
        d("GEOSEARCH", "t", "FROMLONLAT", "10", "20", "BYRADIUS", "100", "km", "COUNT", count, "ANY")
    d("GEOSEARCH", "t", "FROMLONLAT", "10", "20", "BYRADIUS", "100", "km", "ASC")
    d("GEOSEARCH", "t", "FROMLONLAT", "10", "20", "BYRADIUS", "100", "km", "DESC")


def test_random_points(d: Differ) -> None:
    rng = random.Random(20240611)
    args: list[str] = []
    for i in range(300):
        lon = rng.uniform(-180, 180)
        lat = rng.uniform(-85.05112878, 85.05112878)
        args += [repr(lon), repr(lat), f"r{i}"]
    d("GEOADD", "r", *args)
    d("ZRANGE", "r", "0", "-1", "WITHSCORES")
    names = [f"r{i}" for i in range(300)]
    d("GEOPOS", "r", *names)
    d("GEOHASH", "r", *names)
    for _ in range(40):
        a, b = rng.sample(names, 2)
        d("GEODIST", "r", a, b, rng.choice(["m", "km", "ft", "mi"]))
    for _ in range(40):
        lon = repr(rng.uniform(-180, 180))
        lat = repr(rng.uniform(-85, 85))
        radius = repr(rng.choice([10, 100, 500, 1000, 3000, 8000, 20000]) * rng.random())
        d("GEOSEARCH", "r", "FROMLONLAT", lon, lat, "BYRADIUS", radius, "km", "WITHDIST", "WITHHASH", "WITHCOORD")
        d("GEOSEARCH", "r", "FROMLONLAT", lon, lat, "BYRADIUS", radius, "km", "ASC", "COUNT", "5")
        d("GEOSEARCH", "r", "FROMLONLAT", lon, lat, "BYRADIUS", radius, "km", "COUNT", "3", "ANY")
        w = repr(rng.uniform(0, 6000))
        h = repr(rng.uniform(0, 6000))
        d("GEOSEARCH", "r", "FROMLONLAT", lon, lat, "BYBOX", w, h, "km", "DESC", "WITHDIST")
        member = rng.choice(names)
        d("GEOSEARCH", "r", "FROMMEMBER", member, "BYRADIUS", radius, "mi", "COUNT", "4", "WITHDIST")
    # skiplist-encoded source: same answers
    d("CONFIG", "SET", "zset-max-listpack-entries", "16")
    d("GEOADD", "s", *args[: 3 * 50])
    d("OBJECT", "ENCODING", "s")
    d("GEOSEARCH", "s", "FROMLONLAT", "0", "0", "BYRADIUS", "9000", "km", "WITHDIST", "COUNT", "10", "ANY")
    d("CONFIG", "SET", "zset-max-listpack-entries", "128")


# -- keyspace effects ----------------------------------------------------------------------------


def test_keyspace_events_and_dirty_in_process() -> None:
    """Event names and server.dirty counts as Valkey's geo.c produces them."""
    from pyvalkey.server import Server

    server = Server()
    client = server.new_client()
    keyspace = server.keyspace
    keyspace.notify_flags = (1 << 15) - 1
    events: list[bytes] = []
    keyspace.notify_listeners.append(
        lambda db, kind, event, key: events.append(event + b":" + key) if event not in (b"new", b"keymiss") else None
    )
    dirty_before = keyspace.dirty
    for args in (
        "GEOADD g 1 1 a 2 2 b", "GEOADD g 1 1 a", "GEOSEARCHSTORE d g FROMLONLAT 1 1 BYRADIUS 500 km",
        "GEORADIUS g 1 1 500 km STORE d2", "GEORADIUS g 50 50 1 km STOREDIST d2",
        "GEOSEARCHSTORE d nokey FROMLONLAT 1 1 BYRADIUS 1 km", "GEOADD g XX 3 3 a",
        "GEOSEARCHSTORE d nokey FROMLONLAT 1 1 BYRADIUS 1 km",
    ):  # fmt: skip
        server.execute(client, [part.encode() for part in args.split()])
    assert events == [
        b"zadd:g", b"geosearchstore:d", b"georadiusstore:d2", b"del:d2", b"del:d", b"zadd:g",
    ]  # fmt: skip
    assert keyspace.dirty - dirty_before == 2 + 2 + 2 + 1 + 1 + 1


def test_large_search_is_fast(r: RawClient) -> None:
    rng = random.Random(3)
    started = time.monotonic()
    for chunk in range(10):
        args: list[str] = []
        for i in range(5000):
            args += [repr(rng.uniform(-10, 10)), repr(rng.uniform(-10, 10)), f"m{chunk}:{i}"]
        r("GEOADD", "big", *args)
    reply = r("GEOSEARCH", "big", "FROMLONLAT", "0", "0", "BYRADIUS", "300", "km", "COUNT", "10")
    assert reply.startswith(b"*10\r\n")
    assert r("GEOSEARCHSTORE", "dst", "big", "FROMLONLAT", "0", "0", "BYBOX", "500", "500", "km").startswith(b":")
    assert time.monotonic() - started < 15


def test_geoadd_propagates_the_zadd(pyvalkey_server, oracle_server) -> None:  # type: ignore[no-untyped-def]
    """Replicas get the ZADD that GEOADD runs (scores computed, options as given), and
    nothing when nothing changed or the command failed."""
    from test_replication_stream import StreamReader

    feeds = []
    for server in (pyvalkey_server, oracle_server):
        admin = RawClient(server.port)
        admin("FLUSHALL")
        admin("CONFIG", "SET", "repl-ping-replica-period", "3600")
        reader = StreamReader(server.port)
        time.sleep(0.05)
        admin("GEOADD", "g", "nx", "ch", "1", "2", "m", "3", "4", "n")
        admin("GEOADD", "g", "XX", "CH", "1", "2.5", "m", "3", "4", "q")
        admin("GEOADD", "g", "XX", "1", "2.5", "m")  # no change
        admin("GEOADD", "g", "1", "200", "m")  # error
        admin("SET", "s", "x")
        admin("GEOADD", "s", "1", "2", "m")  # WRONGTYPE
        admin("SET", "end", "1")
        feed = []
        while (argv := reader.command()) != [b"SET", b"end", b"1"]:
            if argv[0].upper() not in (b"PING", b"SELECT"):
                feed.append(argv)
        feeds.append(feed)
        reader.close()
        admin.close()
    assert feeds[0] == feeds[1]
    assert feeds[0][0][0] == b"ZADD"
