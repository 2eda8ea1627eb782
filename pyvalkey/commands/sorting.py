"""The partial quicksort shared by SORT ... LIMIT and GEOSEARCH/GEORADIUS ... COUNT.

Valkey orders those results with its own pqsort (a Bentley-McIlroy three-way quicksort that
skips the parts lying outside a window of positions). It is not stable, so which of several
tied items land inside the window depends on its exact pivot choices and swaps; running the
same algorithm here is what makes our ties come out as Valkey's do.
"""

from __future__ import annotations

from typing import Any


def partial_quicksort(items: list[Any], start: int, end: int, desc: bool) -> None:
    """Sort ``items`` in place on their first field, ordering only the partitions that
    overlap positions ``start..end`` (inclusive); insertion sort below 7 items, ninther pivot
    above 40, as Valkey's pqsort does."""

    def cmp(i: int, j: int) -> int:
        a = items[i][0]
        b = items[j][0]
        result = -1 if a < b else (1 if a > b else 0)
        return -result if desc else result

    def med3(a: int, b: int, c: int) -> int:
        if cmp(a, b) < 0:
            return b if cmp(b, c) < 0 else (c if cmp(a, c) < 0 else a)
        return b if cmp(b, c) > 0 else (a if cmp(a, c) < 0 else c)

    def swap(i: int, j: int) -> None:
        items[i], items[j] = items[j], items[i]

    def vecswap(i: int, j: int, n: int) -> None:
        for k in range(n):
            swap(i + k, j + k)

    lo, n = 0, len(items)
    stack: list[tuple[int, int]] = []
    while True:
        if n < 7:
            for m in range(lo + 1, lo + n):
                k = m
                while k > lo and cmp(k - 1, k) > 0:
                    swap(k, k - 1)
                    k -= 1
        else:
            pm = lo + n // 2
            if n > 7:
                pl = lo
                pn = lo + n - 1
                if n > 40:
                    d = n // 8
                    pl = med3(pl, pl + d, pl + 2 * d)
                    pm = med3(pm - d, pm, pm + d)
                    pn = med3(pn - 2 * d, pn - d, pn)
                pm = med3(pl, pm, pn)
            swap(lo, pm)
            pa = pb = lo + 1
            pc = pd = lo + n - 1
            while True:
                while pb <= pc:
                    result = cmp(pb, lo)
                    if result > 0:
                        break
                    if result == 0:
                        swap(pa, pb)
                        pa += 1
                    pb += 1
                while pb <= pc:
                    result = cmp(pc, lo)
                    if result < 0:
                        break
                    if result == 0:
                        swap(pc, pd)
                        pd -= 1
                    pc -= 1
                if pb > pc:
                    break
                swap(pb, pc)
                pb += 1
                pc -= 1
            pn = lo + n
            r = min(pa - lo, pb - pa)
            vecswap(lo, pb - r, r)
            r = min(pd - pc, pn - pd - 1)
            vecswap(pb, pn - r, r)
            # The two parts are disjoint, so the order they are sorted in does not change the
            # result; a part wholly outside the window is left as it is.
            left = pb - pa
            right = pd - pc
            if right > 1 and not (end < pn - right or start > pn - 1):
                stack.append((pn - right, right))
            if left > 1 and not (end < lo or start > lo + left - 1):
                stack.append((lo, left))
        if not stack:
            return
        lo, n = stack.pop()
