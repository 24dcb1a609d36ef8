"""The ``host`` transport: edgekit's runner in a fresh child process on this machine."""
from __future__ import annotations

import os
import platform
import warnings
from dataclasses import dataclass
from pathlib import Path

from ..errors import EdgekitWarning, InputError, TargetError
from .runner import Protocol, measure_local
from .transport import Kind, register


@dataclass(frozen=True)
class HostAddress:
    @property
    def shown(self) -> str:
        return "host"


@dataclass(frozen=True)
class HostOptions:
    on_host: bool = False  # measure even when the target is another architecture (the record says so)


def parse(text: str) -> HostAddress:
    if text.strip().lower() != "host":
        raise InputError(f"address {text!r} is not valid", "the local machine is written just 'host'", "use host")
    return HostAddress()


class HostTransport:
    remote = False

    def __init__(self, address: HostAddress, opts: HostOptions):
        self.address, self.opts = address, opts

    def measure(self, path: Path, target, proto: Protocol, threads: int) -> dict:
        check_host(target, self.opts.on_host)
        check_cores(threads)
        raw = measure_local(path, proto, threads)
        raw["measured_on"] = "host"
        if not target.runs_on_host():
            raw["note"] = (f"measured on this {raw['host']['arch']} host with {target.name}'s settings; "
                           "not a device measurement")
        return raw

    def temperatures(self) -> dict[str, float]:
        from ..runtime.device import temperatures_c

        return temperatures_c()

    def close(self) -> None:
        pass


def check_cores(threads: int) -> None:
    cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else (os.cpu_count() or 1)
    if threads > cores:
        warnings.warn(f"{threads} threads on {cores} usable cores: threads take turns, so the latency is not "
                      f"what a {threads}-core device shows; pass --threads {cores} or profile on the device",
                      EdgekitWarning)


def check_host(tgt, on_host: bool) -> None:
    if tgt.runs_on_host() or on_host:
        return
    raise TargetError(f"target {tgt.name} is {tgt.arch} but this host is {platform.machine()}",
                      "a host measurement is not the device's",
                      "profile on the device with --remote ssh://user@host (or adb://SERIAL), "
                      "or pass --on-host to measure this host with the target's settings")


KIND = register(Kind("host", parse, HostOptions, HostTransport, remote=False, help="host (this machine)"))
