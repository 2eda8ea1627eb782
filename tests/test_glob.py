"""Glob matching: a direct interpreter of Valkey's rules, the oracle's KEYS, and worst cases."""

from __future__ import annotations

import random
import time

import hiredis
import pytest

from pyvalkey.storage.glob import compile_glob, glob_match


def _signed(b: int) -> int:
    return b - 256 if b >= 128 else b


def _lower(v: int) -> int:
    return v + 32 if 65 <= v <= 90 else v


def reference(p: bytes, s: bytes, nocase: bool = False) -> bool:
    """Valkey's stringmatchlen, step by step (exponential: small inputs only)."""
    n = len(p)

    def eq(a: int, b: int) -> bool:
        return _lower(a) == _lower(b) if nocase else a == b

    def match(pi: int, si: int, depth: int) -> bool:
        if depth > 1000:
            return False
        while pi < n and si < len(s):
            c = p[pi]
            if c == ord("*"):
                while pi + 1 < n and p[pi + 1] == ord("*"):
                    pi += 1
                if pi == n - 1:
                    return True
                return any(match(pi + 1, k, depth + 1) for k in range(si, len(s)))
            if c == ord("?"):
                si += 1
            elif c == ord("["):
                pi += 1
                negate = pi < n and p[pi] == ord("^")
                if negate:
                    pi += 1
                found = False
                ch = s[si]
                while True:
                    if pi < n and p[pi] == ord("\\") and n - pi >= 2:
                        pi += 1
                        found |= p[pi] == ch
                    elif pi < n and p[pi] == ord("]"):
                        break
                    elif pi >= n:
                        pi -= 1
                        break
                    elif n - pi >= 3 and p[pi + 1] == ord("-"):
                        lo, hi = sorted((_signed(p[pi]), _signed(p[pi + 2])))
                        v = _signed(ch)
                        if nocase:
                            lo, hi, v = _lower(lo), _lower(hi), _lower(v)
                        found |= lo <= v <= hi
                        pi += 2
                    else:
                        found |= eq(p[pi], ch)
                    pi += 1
                if negate:
                    found = not found
                if not found:
                    return False
                si += 1
            else:
                if c == ord("\\") and n - pi >= 2:
                    pi += 1
                if not eq(p[pi], s[si]):
                    return False
                si += 1
            pi += 1
            if si == len(s):
                while pi < n and p[pi] == ord("*"):
                    pi += 1
                break
        return pi == n and si == len(s)

    return match(0, 0, 0)


CASES = [
    (b"*", b"", False),
    (b"", b"", True),
    (b"", b"a", False),
    (b"*", b"abc", True),
    (b"**", b"", False),
    (b"a*", b"a", True),
    (b"a*b", b"ab", True),
    (b"a*b", b"axxb", True),
    (b"a*b", b"axxbx", False),
    (b"h?llo", b"hello", True),
    (b"h?llo", b"hllo", False),
    (b"h[ae]llo", b"hallo", True),
    (b"h[^e]llo", b"hello", False),
    (b"h[a-b]llo", b"hbllo", True),
    (b"h[b-a]llo", b"hbllo", True),  # reversed range
    (b"[", b"a", False),  # unterminated, empty set
    (b"[^", b"a", True),
    (b"[abc", b"c", True),  # unterminated set runs to the end
    (b"[]", b"]", False),
    (b"[^]", b"x", True),
    (b"[]]", b"]", False),
    (b"[\\]]", b"]", True),
    (b"[a-]", b"]", True),  # the range swallows ']' as its end
    (b"\\*", b"*", True),
    (b"\\*", b"a", False),
    (b"a\\", b"a\\", True),  # trailing backslash is literal
    (b"[\\", b"\\", True),
    (b"*\\", b"x\\", True),
    (b"[a-\xff]", b"\x10", True),  # signed chars: range -1..97
    (b"[a-\xff]", b"\xfe", False),
    (b"[a-\xff]", b"b", False),
    (b"?*", b"x", True),
    (b"a*?", b"a", False),
]


@pytest.mark.parametrize("pattern,subject,expected", CASES)
def test_known_cases(pattern, subject, expected):
    assert glob_match(pattern, subject) is expected
    assert reference(pattern, subject) is expected


def test_nocase():
    assert glob_match(b"HeLLo", b"hello", nocase=True)
    assert not glob_match(b"HeLLo", b"hello")
    assert glob_match(b"[A-C]x", b"bX", nocase=True)
    assert not glob_match(b"[Z-a]", b"[", nocase=True)
    assert glob_match(b"[^a]", b"A") and not glob_match(b"[^a]", b"A", nocase=True)


def test_random_patterns_against_reference():
    rng = random.Random(1234)
    pattern_alphabet = b"ab*?[]^-\\A\xff\x80"
    subject_alphabet = b"ab]-\\^*?[A\xff\x80"
    for _ in range(6000):
        pattern = bytes(rng.choice(pattern_alphabet) for _ in range(rng.randrange(0, 8)))
        subject = bytes(rng.choice(subject_alphabet) for _ in range(rng.randrange(0, 7)))
        nocase = rng.random() < 0.2
        expected = reference(pattern, subject, nocase)
        assert glob_match(pattern, subject, nocase) is expected, (pattern, subject, nocase)


def test_pathological_patterns_are_fast():
    subject = b"a" * 20000
    start = time.perf_counter()
    assert not glob_match(b"a*" * 50 + b"b", subject)
    assert not glob_match(b"*a*a*a*a*a*a*a*a*a*a*a*a*a*a*a*a*b", subject)
    assert glob_match(b"*a*a*a*a*a*a*a*a*a*a*a*a*a*a*a*a*", subject)
    assert not glob_match(b"*?*?*?*?*?*?*?*?*?*?*?*?*?*?*?*?*?*?*[b]", subject)
    assert time.perf_counter() - start < 2.0


def test_nesting_limit():
    # Valkey stops after 1000 nested stars: a 1001st star group followed by more never matches.
    assert not glob_match(b"a*" * 1001 + b"b", b"a" * 1001 + b"b")
    assert glob_match(b"a*" * 1000 + b"b", b"a" * 1000 + b"b")
    assert glob_match(b"a*" * 1001, b"a" * 1001)


def test_cache_is_bounded():
    for i in range(2000):
        compile_glob(b"k%d*" % i)
    from pyvalkey.storage import glob as glob_module

    assert len(glob_module._cache) <= 512


KEY_SET = [
    b"", b"a", b"b", b"ab", b"ba", b"aa", b"abc", b"hello", b"hallo", b"hxllo", b"hllo", b"heeello",
    b"*", b"?", b"[", b"]", b"\\", b"-", b"^", b"a*b", b"a?b", b"a[b", b"a]b", b"a\\b", b"a-b",
    b"A", b"AB", b"\xff", b"\x80", b"\x7f", b"\x00", b"a\x00b", b"user:1", b"user:22", b"user:333",
    b"user:1:name", b"foo{bar}", b"{a}b", b"Hello", b"HELLO", b"zzz", b"0", b"9", b"a\xffb",
]


def _parse(raw: bytes):
    reader = hiredis.Reader()
    reader.feed(raw)
    return reader.gets()


def test_keys_patterns_match_oracle(diff):
    for key in KEY_SET:
        diff("SET", key, b"1")
    rng = random.Random(99)
    alphabet = b"ab*?[]^-\\Ahl:\xff\x80\x00"
    patterns = [
        b"*", b"**", b"?", b"??", b"a*", b"*b", b"a?b", b"h[ae]llo", b"h[^e]llo", b"h[a-z]llo",
        b"h[z-a]llo", b"[", b"[^", b"[]", b"[^]", b"[]]", b"[\\]]", b"[a-]", b"\\*", b"\\?", b"\\[",
        b"a\\", b"*\\", b"[\\", b"[a-\xff]", b"[\x80-\xff]", b"[\x00-\x7f]", b"user:*", b"user:?",
        b"user:[0-9]*", b"*:*:*", b"*{*}*", b"[A-Z]*", b"*[^a-z]", b"h*l*o", b"*e*e*e*", b"",
        b"a*b*", b"*a*", b"[-]", b"[a-b-c]", b"[\\-]", b"[^\\]]*",
    ]
    patterns += [bytes(rng.choice(alphabet) for _ in range(rng.randrange(1, 7))) for _ in range(250)]
    for pattern in patterns:
        ours, theirs = diff.both("KEYS", pattern)
        assert sorted(_parse(ours)) == sorted(_parse(theirs)), pattern
