"""Where a measurement runs: one protocol for every transport, and a registry keyed by address scheme.

A transport is made from an address (``host``, ``ssh://...``, ``adb://...``) and its own options
dataclass, measures a model file and returns the raw record (before ``ProfileRecord.from_dict``), may
read the device's temperatures, and owns its session until ``close()``. ``edgekit profile --remote``
opens one for one measurement; a fleet device (``edgekit.fleet``) keeps one open for all its jobs.

Adding a transport: a module with an address dataclass (with ``shown``: the address without
credentials), an options dataclass, and a class with the three methods, then ``register(Kind(...))``.
"""
from __future__ import annotations

import os
from dataclasses import dataclass, fields
from pathlib import Path
from typing import Any, Callable, Protocol as TypingProtocol, runtime_checkable

from ..errors import InputError


@runtime_checkable
class Transport(TypingProtocol):
    address: Any  # has ``shown``: what ``measured_on`` records
    remote: bool  # another machine: the record gets architecture and throttle warnings

    def measure(self, path: Path, target, proto, threads: int) -> dict:
        """Measure ``path`` with ``proto`` and ``threads``; the raw record. RemoteError when the device is gone."""

    def temperatures(self) -> dict[str, float]:
        """Thermal zones in degC now; {} where the device exposes none."""

    def close(self) -> None:
        """End the session (connections, temp dirs); the transport may be opened again by a new measure."""


@dataclass(frozen=True)
class Kind:
    """One transport: its scheme, how to parse its address, its options, how to open it."""

    scheme: str                       # "ssh" for ssh://...; "host" is the bare word
    parse: Callable[[str], Any]       # the address text -> the address dataclass (InputError if unsafe)
    options: type                     # a frozen dataclass; build_options checks given keys against it
    open: Callable[[Any, Any], Transport]
    remote: bool = True               # measured on another machine: arch and throttle warnings apply
    help: str = ""                    # the address form, for error messages


_REGISTRY: dict[str, Kind] = {}


def register(kind: Kind) -> Kind:
    _REGISTRY[kind.scheme] = kind
    return kind


def kinds() -> dict[str, Kind]:
    if not {"host", "ssh", "adb"} <= set(_REGISTRY):  # the built-ins register on import (lazy: no circle)
        from . import adb, host, ssh  # noqa: F401
    return dict(_REGISTRY)


def scheme_of(text: str) -> str:
    text = str(text).strip()
    scheme, sep, _ = text.partition("://")
    return scheme.lower() if sep else text.lower()


def parse_address(text: str) -> tuple[Kind, Any]:
    """(transport kind, address) for ``host``, ``ssh://...``, ``adb://...`` (or a registered scheme)."""
    known = kinds()
    kind = known.get(scheme_of(text))
    if kind is None:
        forms = "; ".join(k.help for k in known.values() if k.help)
        raise InputError(f"address {str(text).strip()!r} is not one edgekit can reach", "unknown or missing scheme",
                         f"use {forms}")
    return kind, kind.parse(str(text).strip())


def build_options(kind: Kind, **given):
    """``kind.options`` from keyword values; None means unset. A key of another transport is an error."""
    values = {k: v for k, v in given.items() if v is not None}
    own = {f.name for f in fields(kind.options)}
    for key in sorted(set(values) - own):
        others = [k.scheme for k in kinds().values() if key in {f.name for f in fields(k.options)}]
        if others:
            raise InputError(f"--{key.replace('_', '-')} does not apply to {kind.scheme} addresses",
                             f"it is an option of {', '.join(o + '://' for o in others)}", "leave it out")
        raise InputError(f"unknown remote option {key!r}", f"known: {', '.join(sorted(own)) or 'none'}",
                         "check the keyword")
    for f in fields(kind.options):
        if f.name in values and f.metadata.get("file"):
            if not isinstance(values[f.name], (str, os.PathLike)):  # argparse turns --identity=-- into []
                raise InputError(f"--{f.name.replace('_', '-')} needs a file path", f"got {values[f.name]!r}",
                                 f"write --{f.name.replace('_', '-')} PATH")
            values[f.name] = Path(values[f.name]).expanduser()
            if not values[f.name].is_file():
                raise InputError(f"--{f.name.replace('_', '-')} {values[f.name]} not found", "no such file",
                                 "check the path")
    opts = kind.options(**values)
    check = getattr(opts, "check", None)
    return check() if check else opts


def open_transport(address: str, **options) -> Transport:
    """Parse ``address``, check the options for its transport, open it (nothing connects until measure)."""
    kind, addr = parse_address(address)
    return kind.open(addr, build_options(kind, **options))


FILE = {"file": True}  # options field metadata: a local file that must exist
