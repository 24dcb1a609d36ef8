"""``edgekit demo``: the whole pipeline on the built-in shapes dataset (see docs/distill.md)."""
from __future__ import annotations


def demo(*args, **kwargs):
    from .pipeline import demo as _demo

    return _demo(*args, **kwargs)


__all__ = ["demo"]
