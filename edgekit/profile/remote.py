"""Profile on a device: ``ssh://[user@]host[:port]`` (Linux boards) or ``adb://[SERIAL]`` (Android).

``measure_remote`` returns the same raw record as the host measurement (see ``edgekit/runtime/device.py``)
plus ``measured_on`` (the address without user or password) and ``warnings``. The transports live in
``ssh.py`` and ``adb.py``; this module parses and validates the address, holds the options, and judges
throttling. See docs/remote.md.
"""
from __future__ import annotations

import re
import warnings
from dataclasses import dataclass, fields
from pathlib import Path

from ..errors import EdgekitWarning, InputError

# A host name or IPv4 address (RFC 1123 labels; '_' for ssh-config aliases), or an IPv6 literal. Anything
# else is refused before any process starts: OpenSSH itself substitutes the host into ProxyCommand /
# Match exec shell lines (%h), which is how CVE-2023-51385 turned host names into shell injection.
_HOST = re.compile(r"[A-Za-z0-9_](?:[A-Za-z0-9._-]{0,252})")
_IPV6 = re.compile(r"\[([0-9A-Fa-f:.]+(?:%[A-Za-z0-9_.-]+)?)\]")
_USER = re.compile(r"[A-Za-z0-9_][A-Za-z0-9._-]{0,63}")
# adb serials: USB serials are alphanumeric; emulators are emulator-5554; TCP devices are host:port.
_SERIAL = re.compile(r"[A-Za-z0-9_][A-Za-z0-9._:-]{0,127}")


@dataclass(frozen=True)
class RemoteOptions:
    """How to reach and use the device. Paths are local files except ``remote_python`` (on the device)."""

    identity: Path | None = None          # ssh -i
    ssh_config: Path | None = None        # ssh -F
    remote_python: str = "python3"        # interpreter on the device (a venv's python works)
    connect_timeout: int = 10             # seconds; ssh ConnectTimeout
    benchmark_binary: Path | None = None  # adb: a benchmark_model to push (else one already on the device)
    perf_test_binary: Path | None = None  # adb: an onnxruntime_perf_test to push, for .onnx models
    delegate: str | None = None           # adb: xnnpack | gpu | nnapi (default: the target's first)

    @classmethod
    def build(cls, **given) -> "RemoteOptions":
        known = {f.name for f in fields(cls)}
        unknown = sorted(set(given) - known)
        if unknown:
            raise InputError(f"unknown remote option {unknown[0]!r}", f"known: {', '.join(sorted(known))}",
                             "check the keyword")
        values = {k: v for k, v in given.items() if v is not None}
        for key in ("identity", "ssh_config", "benchmark_binary", "perf_test_binary"):
            if key in values:
                values[key] = Path(values[key]).expanduser()
                if not values[key].is_file():
                    flag = "--" + key.replace("_", "-")
                    raise InputError(f"{flag} {values[key]} not found", "no such file", "check the path")
        opts = cls(**values)
        if not opts.remote_python or "\n" in opts.remote_python or "\0" in opts.remote_python:
            raise InputError("--remote-python is empty or has a line break", repr(opts.remote_python),
                             "give the interpreter's path on the device, e.g. /home/pi/venv/bin/python")
        return opts


@dataclass(frozen=True)
class SshAddress:
    host: str
    user: str | None = None
    port: int | None = None

    @property
    def shown(self) -> str:
        """The address without credentials: what ``measured_on`` records."""
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"ssh://{host}" + (f":{self.port}" if self.port else "")


@dataclass(frozen=True)
class AdbAddress:
    serial: str | None = None  # None: the one attached device

    @property
    def shown(self) -> str:
        return f"adb://{self.serial or ''}"


def parse_remote(url: str) -> SshAddress | AdbAddress:
    """``ssh://[user@]host[:port]`` or ``adb://[SERIAL]``; anything unsafe or malformed is an InputError."""
    text = str(url).strip()
    scheme, sep, rest = text.partition("://")
    if not sep or scheme.lower() not in ("ssh", "adb"):
        raise InputError(f"remote {text!r} is not an ssh:// or adb:// address", "unknown or missing scheme",
                         "use ssh://user@host[:port], ssh://alias-from-ssh-config or adb://SERIAL")
    if scheme.lower() == "adb":
        if rest and not _SERIAL.fullmatch(rest):
            raise _bad(text, "an adb serial has only letters, digits and . _ : -", "adb://SERIAL (see adb devices)")
        return AdbAddress(rest or None)
    return _parse_ssh(text, rest.rstrip("/"))


def _parse_ssh(text: str, rest: str) -> SshAddress:
    user, at, hostport = rest.rpartition("@")
    if not at:
        user = None
    elif ":" in user:
        raise InputError(f"remote {_redact(text)} contains a password", "edgekit never passes passwords to ssh",
                         "use a key (--identity FILE) or your ssh agent")
    elif not _USER.fullmatch(user):
        raise _bad(text, "a user name has only letters, digits and . _ -", "ssh://user@host")
    port = None
    ipv6 = _IPV6.match(hostport)
    if ipv6:
        host, tail = ipv6.group(1), hostport[ipv6.end():]
    elif hostport.startswith("["):
        raise _bad(text, "an IPv6 host is hex digits and colons in brackets (and an optional %zone)",
                   "ssh://user@[fe80::1%eth0]:22")
    else:
        host, _, tail = hostport.partition(":")
        tail = ":" + tail if _ else ""
    if tail:
        if not re.fullmatch(r":\d{1,5}", tail) or not 0 < int(tail[1:]) < 65536:
            raise _bad(text, "the port must be a number from 1 to 65535", "ssh://user@host:2222")
        port = int(tail[1:])
    if not ipv6 and not _HOST.fullmatch(host):
        raise _bad(text, "a host has only letters, digits and . _ - (or is [IPv6])",
                   "ssh://user@host[:port] or an alias from your ssh config")
    return SshAddress(host, user, port)


def _bad(text: str, why: str, fix: str) -> InputError:
    return InputError(f"remote address {text!r} is not valid", why, f"use {fix}; nothing was run")


def _redact(text: str) -> str:
    return re.sub(r"://[^@/]*@", "://***@", text)


def measure_remote(path: Path, target, proto, threads: int, remote_url: str, **remote_options) -> dict:
    """Measure ``path`` on the device at ``remote_url``; the raw record (before finish_record)."""
    address = parse_remote(remote_url)
    opts = RemoteOptions.build(**remote_options)
    if isinstance(address, AdbAddress):
        from .adb import measure_adb

        raw = measure_adb(Path(path), target, proto, threads, address, opts)
    else:
        from .ssh import measure_ssh

        raw = measure_ssh(Path(path), proto, threads, address, opts)
    raw.setdefault("measured_on", address.shown)  # adb:// resolves to the one attached device's serial
    raw["warnings"] = arch_warnings(raw.get("host", {}), target) + \
        throttle_warnings(raw.get("host", {}), raw.get("temperature_c", {}))
    for text in raw["warnings"]:
        warnings.warn(f"{address.shown}: {text}", EdgekitWarning)
    return raw


_ARCH = {"arm64-v8a": "aarch64", "arm64": "aarch64", "armv8": "aarch64", "amd64": "x86_64",
         "armeabi-v7a": "armv7l", "x86": "i686"}


def arch_warnings(host: dict, target) -> list[str]:
    """A device of another architecture than the target's is worth saying (a wrong --remote-map entry)."""
    norm = lambda a: _ARCH.get(str(a).lower(), str(a).lower())  # noqa: E731
    if host.get("arch") and norm(host["arch"]) != norm(target.arch):
        return [f"the device is {host['arch']} but target {target.name} is {target.arch}: "
                "the record is this device's, not the target's"]
    return []


# The rule (docs/remote.md): the Raspberry Pi firmware caps the ARM clock from 80 degC (soft limit) and
# throttles hard at 85 degC ("Frequency management and thermal control", Raspberry Pi documentation);
# phone SoCs have trip points in the same range. A zone at or above 80 degC after the run means the clock
# was probably capped. A rise of 10 degC or more within one run means the SoC was heating towards that
# point, so later runs were slower than earlier ones and the percentiles mix two clock speeds.
HOT_C = 80.0
RISE_C = 10.0


def throttle_warnings(host: dict, temps: dict) -> list[str]:
    """Warnings that the numbers may not be steady-state: heat, and a governor that scales the clock."""
    out = []
    before, after = temps.get("before") or {}, temps.get("after") or {}
    if after:
        zone, hottest = max(after.items(), key=lambda kv: kv[1])
        rise = max((after[z] - before[z] for z in after if z in before), default=0.0)
        if hottest >= HOT_C:
            out.append(f"the device throttled or was about to: {zone} reached {hottest:.1f} degC (>= {HOT_C:g} degC, "
                       "where the Raspberry Pi firmware caps the ARM clock); add cooling or pause between runs")
        elif rise >= RISE_C:
            out.append(f"the SoC heated by {rise:.1f} degC during the run (>= {RISE_C:g} degC): later runs may be "
                       "slower than early ones; add cooling or measure fewer runs")
    governor = host.get("governor")
    if governor and governor != "performance":
        out.append(f"CPU governor is {governor!r}, so the clock scales with load and latency varies; for stable "
                   "numbers run on the device: echo performance | sudo tee "
                   "/sys/devices/system/cpu/cpu*/cpufreq/scaling_governor")
    return out
