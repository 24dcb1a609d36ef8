"""Transpose -> no op at all: the output is the input's tensor relabelled (``n.carry``).

A value carried in layout P, transposed by p, is the same physical data carried in
``tuple(p.index(a) for a in P)``; a consumer that needs another layout pays one TRANSPOSE (shared),
and ``optimize.py`` cancels inverse pairs.
"""
from ..context import NodeCtx, Value
from ..registry import lowering


@lowering("Transpose", since=1)
def transpose(n: NodeCtx, x: Value, *, perm: tuple = ()):
    p = tuple(int(a) % x.rank for a in perm) if perm else tuple(reversed(range(x.rank)))
    t, layout = n.get_as_is(x)
    return n.carry(t, tuple(p.index(a) for a in layout))
