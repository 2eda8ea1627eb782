"""DEBUG DIGEST / DIGEST-VALUE agree with Valkey for every type whose digest follows Valkey's scheme."""

import pytest


@pytest.mark.parametrize(
    "setup",
    [
        [("SET", "k", "v")],
        [("RPUSH", "k", "a", "b", "c")],
        [("SADD", "k", "1", "2", "x")],
        [("SADD", "k", *[str(i) for i in range(300)])],
        [("HSET", "k", "f1", "v1", "f2", "v2")],
        [("ZADD", "k", "1.5", "a", "2", "b", "-3e10", "c")],
        [("SET", "k", "v", "EX", "100")],
    ],
)
def test_digest_value_matches_oracle(diff, setup):
    for args in setup:
        diff(*args)
    diff("DEBUG", "DIGEST-VALUE", "k", "missing")
    diff("DEBUG", "DIGEST")


def test_copy_keeps_the_digest_of_every_type(r):
    r("RPUSH", "l", "a", "b")
    r("SADD", "s", "a", "b")
    r("HSET", "h", "f", "v")
    r("ZADD", "z", "1", "a")
    r("XADD", "x", "1-1", "f", "v")
    r("XGROUP", "CREATE", "x", "g", "0")
    for key in ("l", "s", "h", "z", "x"):
        r("COPY", key, key + "2")
        assert r("DEBUG", "DIGEST-VALUE", key) == r("DEBUG", "DIGEST-VALUE", key + "2")
