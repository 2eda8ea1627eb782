# cython: language_level=3, boundscheck=False, wraparound=False, binding=False
"""HyperLogLog's element hashing in C: the compiled twin of
``pyvalkey.storage.hyperloglog.pattern_list`` (same contract, same results; the tests compare
the two on every length class).

For each element: MurmurHash2 64A with Valkey's seed (8-byte blocks and the tail read
little-endian), then the register index (the low P bits) and the length of the run of zeros
above them, plus one, capped by a sentinel bit at Q (Valkey's hllPatLen).
"""

from cpython.bytearray cimport PyByteArray_AS_STRING, PyByteArray_GET_SIZE
from cpython.bytes cimport PyBytes_AS_STRING, PyBytes_GET_SIZE
from libc.stdint cimport uint64_t

__all__ = ["pattern_list"]

cdef extern from *:
    int __builtin_ctzll(unsigned long long) nogil  # GCC/Clang: trailing zero bits

DEF P = 14
DEF Q = 50  # 64 - P
DEF REGISTERS = 16384  # 1 << P

cdef uint64_t _M = 0xC6A4A7935BD1E995ULL
cdef uint64_t _SEED = 0xADC83B19ULL


cdef inline uint64_t _little_endian(const unsigned char* p, Py_ssize_t n) noexcept:
    cdef uint64_t value = 0
    cdef Py_ssize_t i
    for i in range(n):
        value |= (<uint64_t>p[i]) << (8 * i)
    return value


cdef inline uint64_t _murmurhash64a(const unsigned char* data, Py_ssize_t size) noexcept:
    cdef uint64_t h = _SEED ^ (<uint64_t>size * _M), k
    cdef Py_ssize_t i, nblocks = size >> 3
    for i in range(nblocks):
        k = _little_endian(data + (i << 3), 8)
        k *= _M
        k ^= k >> 47
        k *= _M
        h ^= k
        h *= _M
    if size & 7:
        h ^= _little_endian(data + (nblocks << 3), size & 7)
        h *= _M
    h ^= h >> 47
    h *= _M
    h ^= h >> 47
    return h


def pattern_list(elements):
    """``[(register index, run length), ...]`` for ``elements`` (bytes or bytearray)."""
    cdef list out = []
    cdef const unsigned char* data
    cdef Py_ssize_t size
    cdef uint64_t h, rest
    for element in elements:
        if type(element) is bytes:
            data = <const unsigned char*>PyBytes_AS_STRING(element)
            size = PyBytes_GET_SIZE(element)
        elif type(element) is bytearray:
            data = <const unsigned char*>PyByteArray_AS_STRING(element)
            size = PyByteArray_GET_SIZE(element)
        else:
            element = bytes(element)
            data = <const unsigned char*>PyBytes_AS_STRING(element)
            size = PyBytes_GET_SIZE(element)
        h = _murmurhash64a(data, size)
        rest = (h >> P) | ((<uint64_t>1) << Q)
        out.append((<long>(h & (REGISTERS - 1)), __builtin_ctzll(rest) + 1))
    return out
