"""fleet.toml: the devices of a fleet, checked as a whole before any job starts.

    [[devices]]
    name = "pi4-a"                      # unique; the Ray resource is edgekit-device:pi4-a
    target = "raspberry-pi-4"           # a target name or a .toml path (relative to this file)
    address = "ssh://pi@10.0.0.7"       # ssh://..., adb://..., or host
    python = "/home/pi/venv/bin/python" # optional: the device's interpreter (--remote-python)
    ssh_config = "~/.ssh/lab_config"    # optional (--ssh-config)
    identity = "~/.ssh/lab_key"         # optional (--identity)
    tags = ["arm", "pi"]                # optional
    slots = 1                           # optional: jobs at once (default 1: a benchmark holds the board)

Unknown keys, duplicate names, two devices on one address, an unknown target or an unsafe address are
each one line (exit 1) and nothing runs.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from ..errors import EdgekitError, InputError

MAX_SLOTS = 64  # a resource argument is bounded: more parallel benchmarks than this on one board is a typo


class FleetError(InputError):
    """A fleet file, a selection or a Ray address that cannot be used: nothing was started."""

    exit_code = 1


@dataclass(frozen=True)
class Device:
    name: str
    target: object  # the resolved edgekit.targets.Target
    address: str
    python: str | None = None
    ssh_config: Path | None = None
    identity: Path | None = None
    tags: tuple[str, ...] = ()
    slots: int = 1

    @property
    def resource(self) -> str:
        """The Ray custom resource that reserves this board (docs/fleet.md)."""
        return f"edgekit-device:{self.name}"

    def transport_options(self) -> dict:
        """The transport's options (None = unset): the same keys --remote takes on the command line."""
        from ..profile.transport import scheme_of

        if scheme_of(self.address) != "ssh":
            return {}
        return {"remote_python": self.python, "ssh_config": self.ssh_config, "identity": self.identity}


@dataclass(frozen=True)
class Fleet:
    path: Path
    devices: tuple[Device, ...] = field(default_factory=tuple)

    def select(self, names: list[str] | None = None, tags: list[str] | None = None) -> "Fleet":
        """The devices named (in the file's order), or those carrying any of ``tags``; all by default."""
        chosen = list(self.devices)
        if names:
            known = {d.name for d in self.devices}
            unknown = [n for n in names if n not in known]
            if unknown:
                raise FleetError(f"--devices names {unknown[0]!r}, which is not in {self.path}",
                                 f"devices: {', '.join(sorted(known))}", "fix the name")
            chosen = [d for d in chosen if d.name in names]
        if tags:
            chosen = [d for d in chosen if set(tags) & set(d.tags)]
        if not chosen:
            raise FleetError(f"no device of {self.path} carries tag {', '.join(tags or [])}",
                             f"tags: {', '.join(sorted({t for d in self.devices for t in d.tags})) or 'none'}",
                             "fix --tags")
        return Fleet(self.path, tuple(chosen))


KEYS = {"name", "target", "address", "python", "ssh_config", "identity", "tags", "slots"}


def load_fleet(path) -> Fleet:
    """Read and check ``path``; a FleetError (one line) for the first problem found."""
    path = Path(path)
    data = _read_toml(path)
    unknown_top = sorted(set(data) - {"devices"})
    if unknown_top:
        raise FleetError(f"{path}: unknown key {unknown_top[0]!r}", "a fleet file has only [[devices]] tables",
                         "remove it")
    tables = data.get("devices")
    if not isinstance(tables, list) or not tables or not all(isinstance(t, dict) for t in tables):
        raise FleetError(f"{path} lists no devices", "expected [[devices]] tables",
                         "add [[devices]] with name, target and address (docs/fleet.md)")
    devices = [_device(path, i + 1, t) for i, t in enumerate(tables)]
    _check_unique(path, devices)
    return Fleet(path, tuple(devices))


def _read_toml(path: Path) -> dict:
    try:
        import tomllib
    except ModuleNotFoundError:  # Python 3.10
        import tomli as tomllib
    if not path.is_file():
        raise FleetError(f"fleet file {path} not found", "no such file", "check the path")
    try:
        return tomllib.loads(path.read_text(encoding="utf-8"))
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
        raise FleetError(f"fleet file {path} is not valid TOML", str(exc).splitlines()[0], "fix the file") from None


def _device(path: Path, n: int, t: dict) -> Device:
    where = f"{path}: device {n}" + (f" ({t['name']!r})" if isinstance(t.get("name"), str) else "")
    unknown = sorted(set(t) - KEYS)
    if unknown:
        raise FleetError(f"{where}: unknown key {unknown[0]!r}", f"known: {', '.join(sorted(KEYS))}",
                         "fix or remove the key")
    for key in ("name", "target", "address"):
        if not isinstance(t.get(key), str) or not t[key].strip():
            raise FleetError(f"{where}: {key!r} is missing or not a string", "name, target and address are required",
                             f"add {key} = \"...\"")
    name = t["name"].strip()
    if not all(c.isalnum() or c in "._-" for c in name):  # it becomes a Ray resource name and a table cell
        raise FleetError(f"{where}: name {name!r} has characters other than letters, digits and . _ -",
                         "the name is used in the Ray resource name", "rename the device")
    target = _target(path, where, t["target"])
    address = _address(where, t["address"])
    slots = t.get("slots", 1)
    if isinstance(slots, bool) or not isinstance(slots, int) or not 1 <= slots <= MAX_SLOTS:
        raise FleetError(f"{where}: slots must be a whole number from 1 to {MAX_SLOTS}", f"got {slots!r}",
                         "use slots = 1 (one benchmark at a time on a board)")
    tags = t.get("tags", [])
    if not isinstance(tags, list) or not all(isinstance(x, str) for x in tags):
        raise FleetError(f"{where}: tags must be a list of strings", f"got {tags!r}", 'use tags = ["pi", "arm"]')
    files = {k: _file(path, where, k, t[k]) for k in ("ssh_config", "identity") if k in t}
    python = t.get("python")
    if python is not None and (not isinstance(python, str) or not python.strip() or "\n" in python):
        raise FleetError(f"{where}: python must be the interpreter's path on the device", repr(python),
                         'e.g. python = "/home/pi/venv/bin/python"')
    dev = Device(name, target, address, python, tags=tuple(tags), slots=slots, **files)
    _check_options(where, dev)
    return dev


def _target(path: Path, where: str, text: str):
    from ..targets import get_target

    candidate = (path.parent / text) if text.endswith(".toml") else None
    try:
        return get_target(candidate if candidate is not None and candidate.is_file() else text)
    except EdgekitError as exc:
        raise FleetError(f"{where}: {exc.what}", exc.why, exc.fix or "see edgekit targets") from None


def _address(where: str, text: str) -> str:
    from ..profile.transport import parse_address

    try:
        parse_address(text)  # refuses shell metacharacters, option-like hosts, passwords, unknown schemes
    except EdgekitError as exc:
        raise FleetError(f"{where}: {exc.what}", exc.why, exc.fix) from None
    return text.strip()


def _file(path: Path, where: str, key: str, value) -> Path:
    if not isinstance(value, str) or not value.strip():
        raise FleetError(f"{where}: {key} must be a file path", repr(value), "give the path as a string")
    p = Path(value).expanduser()
    p = p if p.is_absolute() else path.parent / p
    if not p.is_file():
        raise FleetError(f"{where}: {key} {p} not found", "no such file", "check the path")
    return p


def _check_options(where: str, dev: Device) -> None:
    from ..profile.transport import build_options, parse_address

    kind, _ = parse_address(dev.address)
    given = {k: v for k, v in (("remote_python", dev.python), ("ssh_config", dev.ssh_config),
                               ("identity", dev.identity)) if v is not None}
    try:
        build_options(kind, **given)
    except EdgekitError as exc:
        raise FleetError(f"{where}: {exc.what}", exc.why, exc.fix) from None


def address_key(address: str) -> tuple:
    """What makes two addresses one board: the host (or serial) and port, whatever the user name."""
    from ..profile.transport import parse_address

    kind, addr = parse_address(address)
    if kind.scheme == "ssh":
        return ("ssh", addr.host.lower(), addr.port or 22)
    if kind.scheme == "adb":
        return ("adb", addr.serial)
    return (kind.scheme, getattr(addr, "shown", address))


def _check_unique(path: Path, devices: list[Device]) -> None:
    names, places = {}, {}
    for d in devices:
        if d.name in names:
            raise FleetError(f"{path}: two devices are named {d.name!r}", "names must be unique",
                             "rename one of them")
        names[d.name] = d
        key = address_key(d.address)
        if key in places:
            raise FleetError(f"{path}: devices {places[key].name!r} and {d.name!r} have the same address "
                             f"{d.address!r}", "two benchmarks would share one board and disturb each other",
                             "give each board one entry, with slots = N for parallel jobs")
        places[key] = d
