"""Names shared by the fleet tests (a plain module: two conftest.py files cannot both be imported)."""
from __future__ import annotations

import platform

HOST = "x86_64" if platform.machine().lower() in ("x86_64", "amd64") else "linux-arm64"
# Every device name a test uses: Ray's custom resources exist from ray.init on (docs/fleet.md).
DEVICE_NAMES = ("pi-a", "pi-b", "pi-c", "here", "flaky")


def device_table(name: str, address: str, server=None, identity: bool = False, tags=()) -> str:
    lines = ["[[devices]]", f'name = "{name}"', f'target = "{HOST}"', f'address = "{address}"']
    if server is not None:
        lines += [f'python = "{server.python}"', f'ssh_config = "{server.config}"']
        lines += [f'identity = "{server.key}"'] if identity else []
    lines += [f"tags = {list(tags)!r}".replace("'", '"')] if tags else []
    return "\n".join(lines) + "\n"


FAST = ["--runs", "3", "--warmup", "0", "--backoff", "0.2"]
