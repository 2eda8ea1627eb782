"""The list value: elements in a ``deque`` plus a byte-level model of Valkey's encoding.

The elements live in one ``collections.deque`` (O(1) at both ends; O(n) in the middle, as
Valkey's quicklist walk is). OBJECT ENCODING must answer ``listpack`` or ``quicklist`` exactly
as Valkey would after the same history, and Valkey decides from byte sizes and from the shape
of its quicklist (a quicklist turns back into a listpack only when it is down to one node).
So, next to the elements, we keep a model of the container Valkey would have built:

* listpack: only its total byte count (``lp_bytes``: header + entries + terminator, with
  each entry sized as a listpack encodes it: integers in 1..9 bytes, strings with a 1/2/5
  byte header, plus the 1..5 byte back-length);
* quicklist: a deque of ``Node`` records (element count, byte size, plain flag) that follows
  Valkey's node rules: where a push opens a new node, when an insert splits a node and which
  neighbours then merge, that an element larger than the node limit gets a plain node of its
  own, and that pops and removals never merge.

Node i holds the elements following those of nodes 0..i-1, so a position maps to a node by
summing counts. The fill factor (``list-max-listpack-size``) of a quicklist is fixed when it
is created, as in Valkey; conversions read the current configuration.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Iterable
from itertools import islice

__all__ = ["ListValue", "entry_size", "set_packed_threshold"]

_LP_EMPTY = 7  # listpack header (6) + terminator (1)
_SAFETY_LIMIT = 8192  # bytes, for count-based fill factors
_ESTIMATE_OVERHEAD = 8  # added to an element's length when checking room in a node
_LEVELS = (4096, 8192, 16384, 32768, 65536)  # size limits of fill -1 .. -5
_UINT_MAX = 2**32 - 1
_SIZE_MAX = 2**64 - 1


def entry_size(value: bytes) -> int:
    """Bytes one element takes inside a listpack (encoding header, data, back-length)."""
    n = len(value)
    if 0 < n <= 20:
        c = value[0]
        if c == 45 or 48 <= c <= 57:
            # Integer encoding needs the canonical form (no '+', leading zeros, spaces or
            # '_'), which is exactly "formats back to the same bytes".
            try:
                number = int(value)
            except ValueError:
                number = None
            if number is not None and b"%d" % number == value:
                if 0 <= number <= 127:
                    return 2
                if -4096 <= number <= 4095:
                    return 3
                if -32768 <= number <= 32767:
                    return 4
                if -8388608 <= number <= 8388607:
                    return 5
                if -2147483648 <= number <= 2147483647:
                    return 6
                if -9223372036854775808 <= number <= 9223372036854775807:
                    return 10
    if n < 64:
        return n + 2  # 1-byte header, back-length 1 (total below 128)
    if n < 4096:
        enc = n + 2
    else:
        enc = n + 5
    if enc <= 127:
        return enc + 1
    if enc < 16383:
        return enc + 2
    if enc < 2097151:
        return enc + 3
    if enc < 268435455:
        return enc + 4
    return enc + 5


def _node_limits(fill: int) -> tuple[int, int]:
    """(size limit, count limit) of a node or listpack for a fill factor."""
    if fill >= 0:
        return _SIZE_MAX, fill or 1
    return _LEVELS[min(-fill - 1, len(_LEVELS) - 1)], _UINT_MAX


def _exceeds(fill: int, size: int, count: int) -> bool:
    if fill < 0:
        return size > _LEVELS[min(-fill - 1, len(_LEVELS) - 1)]
    if size > _SAFETY_LIMIT:
        return True
    return count > (fill or 1)


# DEBUG QUICKLIST-PACKED-THRESHOLD: when non-zero, elements of at least this many bytes get a
# plain node whatever the fill factor. Process-wide, as Valkey's knob is.
_packed_threshold = 0


def set_packed_threshold(size: int) -> None:
    global _packed_threshold
    _packed_threshold = size


def _is_large(size: int, fill: int) -> bool:
    """An element this long gets a plain node of its own."""
    if _packed_threshold:
        return size >= _packed_threshold
    if fill >= 0:
        return size > _SAFETY_LIMIT
    return size > _LEVELS[min(-fill - 1, len(_LEVELS) - 1)]


class Node:
    """One quicklist node as Valkey would hold it: a listpack (``sz`` = its bytes) or a plain
    node with one large element (``sz`` = the element's length)."""

    __slots__ = ("count", "plain", "sz")

    def __init__(self, count: int, sz: int, plain: bool = False) -> None:
        self.count = count
        self.sz = sz
        self.plain = plain

    def __repr__(self) -> str:
        return f"Node({self.count}, {self.sz}{', plain' if self.plain else ''})"


def _allow_insert(node: Node | None, fill: int, size: int) -> bool:
    if node is None or node.plain or _is_large(size, fill):
        return False
    return not _exceeds(fill, node.sz + size + _ESTIMATE_OVERHEAD, node.count + 1)


def _allow_merge(a: Node | None, b: Node | None, fill: int) -> bool:
    if a is None or b is None or a.plain or b.plain:
        return False
    return not _exceeds(fill, a.sz + b.sz - _LP_EMPTY, a.count + b.count)


class ListValue:
    """A list key's value. ``nodes is None`` means listpack encoding."""

    TYPE_NAME = b"list"
    __slots__ = ("compress", "fill", "items", "lp_bytes", "nodes")

    def __init__(self) -> None:
        self.items: deque[bytes] = deque()
        self.lp_bytes = _LP_EMPTY
        self.nodes: deque[Node] | None = None
        self.fill = -2
        self.compress = 0  # list-compress-depth when the quicklist was made (DEBUG OBJECT shows it)

    def __len__(self) -> int:
        return len(self.items)

    def encoding(self) -> bytes:
        return b"listpack" if self.nodes is None else b"quicklist"

    def copy(self) -> ListValue:
        twin = ListValue()
        twin.items = self.items.copy()
        twin.lp_bytes = self.lp_bytes
        twin.fill = self.fill
        twin.compress = self.compress
        if self.nodes is not None:
            twin.nodes = deque(Node(n.count, n.sz, n.plain) for n in self.nodes)
        return twin

    @classmethod
    def from_values(cls, values: list[bytes], fill: int, compress: int = 0) -> ListValue:
        """A list built the way Valkey builds one for SORT ... STORE: pushed into a fresh
        quicklist, then turned into a listpack if it fits one node within the full limit."""
        lst = cls()
        lst.nodes = deque()
        lst.fill = fill
        lst.compress = compress
        lst.push_many(values, False)
        nodes = lst.nodes
        if len(nodes) == 1 and not nodes[0].plain:
            size_limit, count_limit = _node_limits(fill)
            if nodes[0].sz <= size_limit and nodes[0].count <= count_limit:
                lst.lp_bytes = nodes[0].sz
                lst.nodes = None
        return lst

    # -- encoding conversions ----------------------------------------------------------------

    def grow_check(self, fill: int, add_bytes: int, add_count: int, compress: int = 0) -> None:
        """Before adding elements: a listpack that would pass the limit becomes a quicklist.
        ``add_bytes`` is the raw length of the new elements (Valkey's estimate)."""
        if self.nodes is not None:
            return
        if _exceeds(fill, self.lp_bytes + add_bytes, len(self.items) + add_count):
            nodes: deque[Node] = deque()
            if self.items:
                nodes.append(Node(len(self.items), self.lp_bytes))
            self.nodes = nodes
            self.fill = fill
            self.compress = compress

    def debug_details(self, fast: bool) -> str:
        """What DEBUG OBJECT adds for a quicklist: nodes, average fill, fill factor, whether
        it compresses, and (unless FAST) the nodes' total uncompressed bytes."""
        nodes = self.nodes
        if nodes is None:
            return ""
        count = len(nodes)
        average = f"{len(self.items) / count:.2f}" if count else "nan"
        text = f" ql_nodes:{count} ql_avg_node:{average} ql_listpack_max:{self.fill} ql_compressed:{int(self.compress != 0)}"
        if not fast:
            text += f" ql_uncompressed_size:{sum(node.sz for node in nodes)}"
        return text

    def shrink_check(self, fill: int) -> None:
        """After removing elements: a one-node quicklist at half the limit becomes a listpack."""
        nodes = self.nodes
        if nodes is None or len(nodes) != 1:
            return
        node = nodes[0]
        if node.plain:
            return
        size_limit, count_limit = _node_limits(fill)
        if node.sz > size_limit // 2 or node.count > count_limit // 2:
            return
        self.lp_bytes = node.sz
        self.nodes = None

    # -- pushes and pops at the ends ---------------------------------------------------------

    def push(self, value: bytes, head: bool) -> None:
        nodes = self.nodes
        if nodes is None:
            self.lp_bytes += entry_size(value)
        else:
            fill = self.fill
            size = len(value)
            if _is_large(size, fill):
                if head:
                    nodes.appendleft(Node(1, size, True))
                else:
                    nodes.append(Node(1, size, True))
            else:
                node = (nodes[0] if head else nodes[-1]) if nodes else None
                if node is not None and _allow_insert(node, fill, size):
                    node.count += 1
                    node.sz += entry_size(value)
                elif head:
                    nodes.appendleft(Node(1, _LP_EMPTY + entry_size(value)))
                else:
                    nodes.append(Node(1, _LP_EMPTY + entry_size(value)))
        if head:
            self.items.appendleft(value)
        else:
            self.items.append(value)

    def push_many(self, values: list[bytes], head: bool) -> None:
        """LPUSH/RPUSH of many elements: ``push`` in a loop, with the node checks inlined."""
        nodes = self.nodes
        items = self.items
        if nodes is None:
            self.lp_bytes += sum(map(entry_size, values))
            if head:
                items.extendleft(values)
            else:
                items.extend(values)
            return
        fill = self.fill
        # A node takes an element while its size (plus the estimate) stays within
        # ``size_limit`` and its count within ``count_limit``; longer elements go plain.
        if fill < 0:
            size_limit = _LEVELS[min(-fill - 1, len(_LEVELS) - 1)]
            count_limit = _UINT_MAX
        else:
            size_limit = _SAFETY_LIMIT
            count_limit = fill or 1
        # plain when longer than this (DEBUG QUICKLIST-PACKED-THRESHOLD n: from n bytes on)
        large_above = _packed_threshold - 1 if _packed_threshold else size_limit
        node = (nodes[0] if head else nodes[-1]) if nodes else None
        for value in values:
            size = len(value)
            if size > large_above:
                node = Node(1, size, True)
            elif (
                node is not None
                and not node.plain
                and node.sz + size + _ESTIMATE_OVERHEAD <= size_limit
                and node.count < count_limit
            ):
                node.count += 1
                node.sz += entry_size(value)
                continue
            else:
                node = Node(1, _LP_EMPTY + entry_size(value))
            if head:
                nodes.appendleft(node)
            else:
                nodes.append(node)
        if head:
            items.extendleft(values)
        else:
            items.extend(values)

    def pop(self, head: bool) -> bytes:
        value = self.items.popleft() if head else self.items.pop()
        nodes = self.nodes
        if nodes is None:
            self.lp_bytes -= entry_size(value)
        else:
            node = nodes[0] if head else nodes[-1]
            if node.plain or node.count == 1:
                if head:
                    nodes.popleft()
                else:
                    nodes.pop()
            else:
                node.count -= 1
                node.sz -= entry_size(value)
        return value

    def pop_many(self, count: int, head: bool) -> list[bytes]:
        """Remove up to ``count`` elements from one end; returned in the order popped."""
        items = self.items
        count = min(count, len(items))
        if head:
            popped = [items.popleft() for _ in range(count)]
        else:
            popped = [items.pop() for _ in range(count)]
        self._forget_end(popped, head)
        return popped

    def _forget_end(self, popped: list[bytes], head: bool) -> None:
        """Model update for a range deleted at one end (Valkey's DelRange: whole nodes go,
        the last node touched loses a part, nothing merges)."""
        nodes = self.nodes
        if nodes is None:
            self.lp_bytes -= sum(map(entry_size, popped))
            return
        left = len(popped)
        while left:
            node = nodes[0] if head else nodes[-1]
            if left >= node.count:
                left -= node.count
                if head:
                    nodes.popleft()
                else:
                    nodes.pop()
            else:
                node.count -= left
                node.sz -= sum(map(entry_size, popped[-left:]))
                left = 0

    def trim(self, ltrim: int, rtrim: int) -> None:
        if ltrim:
            self._drop_end(ltrim, True)
        if rtrim:
            self._drop_end(rtrim, False)

    def _drop_end(self, count: int, head: bool) -> None:
        items = self.items
        nodes = self.nodes
        if count >= len(items):
            popped = list(items)
            if not head:
                popped.reverse()
            items.clear()
        elif nodes is not None and count > 4096:
            # Whole nodes need no per-element sizes: only the elements of the partially cut
            # node (the last ones removed) are measured.
            whole = 0
            for node in nodes if head else reversed(nodes):
                if whole + node.count > count:
                    break
                whole += node.count
            part = count - whole
            if head:
                for _ in range(whole):
                    items.popleft()
                popped = [b""] * whole + [items.popleft() for _ in range(part)]
            else:
                for _ in range(whole):
                    items.pop()
                popped = [b""] * whole + [items.pop() for _ in range(part)]
        else:
            popped = [items.popleft() for _ in range(count)] if head else [items.pop() for _ in range(count)]
        self._forget_end(popped, head)

    # -- reads ---------------------------------------------------------------------------------

    def index(self, index: int) -> bytes | None:
        items = self.items
        if index < 0:
            index += len(items)
        if 0 <= index < len(items):
            return items[index]
        return None

    def range(self, start: int, stop: int) -> list[bytes]:
        """Elements ``start..stop`` inclusive, already normalised to 0 <= start <= stop < len."""
        items = self.items
        size = len(items)
        if stop - start + 1 == size:
            return list(items)
        if start > size - 1 - stop:
            # Closer to the tail: walk backwards from the end.
            part = list(islice(reversed(items), size - 1 - stop, size - start))
            part.reverse()
            return part
        return list(islice(items, start, stop + 1))

    # -- middle operations --------------------------------------------------------------------

    def _locate(self, index: int) -> tuple[int, int, int]:
        """(node position, offset in node, position of the node's first element)."""
        nodes = self.nodes
        assert nodes is not None
        total = len(self.items)
        if index <= total // 2:
            start = 0
            for pos, node in enumerate(nodes):
                if start + node.count > index:
                    return pos, index - start, start
                start += node.count
        else:
            end = total
            for back, node in enumerate(reversed(nodes)):
                if end - node.count <= index:
                    start = end - node.count
                    return len(nodes) - 1 - back, index - start, start
                end -= node.count
        raise IndexError(index)

    def _slice(self, start: int, count: int) -> list[bytes]:
        items = self.items
        size = len(items)
        if start > size - (start + count):
            part = list(islice(reversed(items), size - start - count, size - start))
            part.reverse()
            return part
        return list(islice(items, start, start + count))

    def _split(self, pos: int, offset: int, node_start: int, after: bool) -> Node:
        """Valkey's node split; returns the new node (not yet linked). With ``after`` the
        new node takes the elements after ``offset``, else those before it."""
        node = self.nodes[pos]  # type: ignore[index]
        if after:
            moved = self._slice(node_start + offset + 1, node.count - offset - 1)
        else:
            moved = self._slice(node_start, offset)
        moved_size = _LP_EMPTY + sum(map(entry_size, moved))
        node.count -= len(moved)
        node.sz -= moved_size - _LP_EMPTY
        return Node(len(moved), moved_size)

    def _merge(self, a: Node, b: Node) -> Node:
        """Merge adjacent nodes a (left) and b; returns the surviving record."""
        nodes = self.nodes
        assert nodes is not None
        a.count += b.count
        a.sz += b.sz - _LP_EMPTY
        nodes.remove(b)
        return a

    def _neighbour(self, node: Node | None, step: int) -> Node | None:
        if node is None:
            return None
        nodes = self.nodes
        assert nodes is not None
        pos = nodes.index(node) + step
        return nodes[pos] if 0 <= pos < len(nodes) else None

    def _merge_around(self, center: Node) -> None:
        fill = self.fill
        prev = self._neighbour(center, -1)
        prev_prev = self._neighbour(prev, -1)
        nxt = self._neighbour(center, 1)
        next_next = self._neighbour(nxt, 1)
        if _allow_merge(prev, prev_prev, fill):
            self._merge(prev_prev, prev)  # type: ignore[arg-type]
        if _allow_merge(nxt, next_next, fill):
            self._merge(nxt, next_next)  # type: ignore[arg-type]
        before = self._neighbour(center, -1)
        target = center
        if _allow_merge(center, before, fill):
            target = self._merge(before, center)  # type: ignore[arg-type]
        after = self._neighbour(target, 1)
        if _allow_merge(target, after, fill):
            self._merge(target, after)  # type: ignore[arg-type]

    def _model_insert(self, index: int, value: bytes, after: bool) -> None:
        """Quicklist model of inserting ``value`` next to the element at ``index``."""
        nodes = self.nodes
        assert nodes is not None
        fill = self.fill
        pos, offset, node_start = self._locate(index)
        node = nodes[pos]
        size = len(value)
        full = not _allow_insert(node, fill, size)
        at_tail = at_head = avail_next = avail_prev = False
        if after and offset == node.count - 1:
            at_tail = True
            avail_next = _allow_insert(nodes[pos + 1] if pos + 1 < len(nodes) else None, fill, size)
        if not after and offset == 0:
            at_head = True
            avail_prev = _allow_insert(nodes[pos - 1] if pos > 0 else None, fill, size)
        if _is_large(size, fill):
            plain = Node(1, size, True)
            if node.plain or at_tail or at_head:
                nodes.insert(pos + 1 if after else pos, plain)
            else:
                split = self._split(pos, offset, node_start, after)
                if after:
                    nodes.insert(pos + 1, plain)
                    nodes.insert(pos + 2, split)
                else:
                    nodes.insert(pos, plain)
                    nodes.insert(pos, split)
            return
        grow = entry_size(value)
        if not full:
            node.count += 1
            node.sz += grow
        elif at_tail and avail_next:
            nodes[pos + 1].count += 1
            nodes[pos + 1].sz += grow
        elif at_head and avail_prev:
            nodes[pos - 1].count += 1
            nodes[pos - 1].sz += grow
        elif at_tail or at_head:
            nodes.insert(pos + 1 if after else pos, Node(1, _LP_EMPTY + grow))
        else:
            split = self._split(pos, offset, node_start, after)
            split.count += 1
            split.sz += grow
            nodes.insert(pos + 1 if after else pos, split)
            self._merge_around(node)

    def insert(self, pivot: bytes, value: bytes, after: bool) -> bool:
        """LINSERT: put ``value`` next to the first ``pivot``; False if there is none."""
        items = self.items
        try:
            index = items.index(pivot)
        except ValueError:
            return False
        if self.nodes is None:
            self.lp_bytes += entry_size(value)
        else:
            self._model_insert(index, value, after)
        items.insert(index + 1 if after else index, value)
        return True

    def set(self, index: int, value: bytes) -> bool:
        """LSET; False when ``index`` is out of range."""
        items = self.items
        if index < 0:
            index += len(items)
        if not 0 <= index < len(items):
            return False
        old = items[index]
        nodes = self.nodes
        if nodes is None:
            self.lp_bytes += entry_size(value) - entry_size(old)
        else:
            self._model_replace(index, old, value)
        items[index] = value
        return True

    def _model_replace(self, index: int, old: bytes, value: bytes) -> None:
        nodes = self.nodes
        assert nodes is not None
        fill = self.fill
        pos, offset, node_start = self._locate(index)
        node = nodes[pos]
        large = _is_large(len(value), fill)
        if not node.plain and not large:
            node.sz += entry_size(value) - entry_size(old)
        elif node.plain:
            if large:
                node.sz = len(value)
            else:
                # Valkey inserts the new element after the plain node, then drops the node.
                self._model_insert(index, value, True)
                nodes.remove(node)
        else:
            split = None
            if offset != node.count - 1:
                split = self._split(pos, offset, node_start, True)
            plain = Node(1, len(value), True)
            nodes.insert(pos + 1, plain)
            if split is not None:
                nodes.insert(pos + 2, split)
            if node.count == 1:
                nodes.remove(node)
            else:
                node.count -= 1
                node.sz -= entry_size(old)
                self._merge_around(plain)

    def remove(self, value: bytes, count: int) -> int:
        """LREM: remove up to ``count`` (0 = all) equal elements, from the tail if negative."""
        items = self.items
        size = len(items)
        if count < 0:
            limit = -count
            hits = [size - 1 - i for i, item in enumerate(reversed(items)) if item == value]
            hits = hits[:limit]
            hits.reverse()
        else:
            hits = [i for i, item in enumerate(items) if item == value]
            if count:
                hits = hits[:count]
        if not hits:
            return 0
        if len(hits) == size:
            items.clear()
        else:
            doomed = set(hits)
            self.items = deque(item for i, item in enumerate(items) if i not in doomed)
        nodes = self.nodes
        gone = entry_size(value)
        if nodes is None:
            self.lp_bytes -= gone * len(hits)
        else:
            kept: deque[Node] = deque()
            it = iter(hits)
            nxt = next(it, None)
            start = 0
            for node in nodes:
                end = start + node.count
                removed = 0
                while nxt is not None and nxt < end:
                    removed += 1
                    nxt = next(it, None)
                start = end
                if removed:
                    if removed == node.count or node.plain:
                        continue
                    node.count -= removed
                    node.sz -= gone * removed
                kept.append(node)
            self.nodes = kept
        return len(hits)

    def positions(self, value: bytes, rank: int, count: int, maxlen: int) -> list[int]:
        """LPOS matches: indexes of ``value`` from the head (rank > 0) or tail (rank < 0),
        skipping the first |rank|-1 matches, at most ``count`` (0 = all), scanning at most
        ``maxlen`` elements (0 = all)."""
        items = self.items
        size = len(items)
        source: Iterable[bytes]
        if rank > 0:
            source = items if not maxlen else islice(items, maxlen)
        else:
            source = reversed(items) if not maxlen else islice(reversed(items), maxlen)
        skip = abs(rank) - 1
        found: list[int] = []
        for i, item in enumerate(source):
            if item == value:
                if skip:
                    skip -= 1
                    continue
                found.append(i if rank > 0 else size - 1 - i)
                if count and len(found) >= count:
                    break
        return found
