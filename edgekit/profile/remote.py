"""What edgekit says about a measurement made on a device: a wrong architecture, heat, a scaling clock.

The transports themselves live in ``host.py``, ``ssh.py`` and ``adb.py`` behind one protocol
(``transport.py``); this module only judges their raw records. See docs/remote.md.
"""
from __future__ import annotations

from ..errors import InputError
from .transport import kinds, parse_address, scheme_of


def parse_remote(url: str):
    """The address of a device (``ssh://...`` or ``adb://...``); ``host`` and unknown schemes are InputErrors."""
    kind = kinds().get(scheme_of(url)) if "://" in str(url) else None
    if kind is None or not kind.remote:
        raise InputError(f"remote {str(url).strip()!r} is not an ssh:// or adb:// address", "unknown or missing scheme",
                         "use ssh://user@host[:port], ssh://alias-from-ssh-config or adb://SERIAL")
    return parse_address(url)[1]


def device_warnings(raw: dict, target) -> list[str]:
    """Everything worth saying about a device's raw record (see below)."""
    return arch_warnings(raw.get("host", {}), target) + \
        throttle_warnings(raw.get("host", {}), raw.get("temperature_c", {}))


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
