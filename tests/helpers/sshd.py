"""A real OpenSSH server on 127.0.0.1 for tests (tests/profile, tests/fleet).

It runs as the current user with a temporary host key, a temporary authorized key and an unprivileged
port; the client side gets its own ssh config and known_hosts (``-F`` makes ssh ignore ~/.ssh/config),
so nothing of the machine's ssh setup is read or changed. The "device's" Python is the test process's
interpreter, which has numpy and the runtimes.
"""
from __future__ import annotations

import getpass
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

SSHD = "/usr/sbin/sshd"


def available() -> bool:
    return os.access(SSHD, os.X_OK) and shutil.which("ssh") is not None


@dataclass
class SshServer:
    port: int
    user: str
    key: Path            # the client's private key (authorized on the server)
    config: Path         # ssh config: alias ALIAS -> 127.0.0.1:port, plus known_hosts with the host key
    known_hosts: Path
    python: str          # the interpreter on the "device"
    dir: Path
    alias: str = "ekpi"
    proc: subprocess.Popen | None = field(default=None, repr=False)

    def stop(self) -> None:
        """Stop the server AND its per-connection children (sshd forks one per login, in its own session),
        as a board that loses power would: open connections die too. Only processes this server started."""
        if self.proc is None:
            return
        pids = _descendants(self.proc.pid)
        self.proc.terminate()
        self.proc.wait(timeout=10)
        for pid in pids:
            try:
                os.kill(pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
        self.proc = None


def _descendants(root: int) -> list[int]:
    children: dict[int, list[int]] = {}
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        children.setdefault(int(fields[1]), []).append(int(stat.parent.name))
    out, todo = [], [root]
    while todo:
        for child in children.get(todo.pop(), []):
            out.append(child)
            todo.append(child)
    return out


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _client_config(path: Path, alias: str, port: int, user: str, key: Path, known_hosts: Path, host_alias: str) -> Path:
    path.write_text(f"""Host {alias}
  HostName 127.0.0.1
  Port {port}
  User {user}
Host *
  IdentityFile {key}
  IdentitiesOnly yes
  UserKnownHostsFile {known_hosts}
  GlobalKnownHostsFile /dev/null
  StrictHostKeyChecking yes
  HostKeyAlias {host_alias}
""")
    return path


def start_sshd(d: Path, alias: str = "ekpi") -> SshServer:
    """Start sshd with its files in ``d``; raises RuntimeError if it does not come up."""
    for name in ("host", "client"):
        subprocess.run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-f", str(d / name)], check=True)
    (d / "authorized_keys").write_text((d / "client.pub").read_text())
    port, user = free_port(), getpass.getuser()
    # HostKeyAlias makes one known_hosts line match both the alias and "[127.0.0.1]:port".
    host_alias = "ek-test-sshd"  # each server has its own known_hosts file, so one name serves all
    known = d / "known_hosts"
    known.write_text(f"{host_alias} " + " ".join((d / "host.pub").read_text().split()[:2]) + "\n")
    (d / "sshd_config").write_text(f"""Port {port}
ListenAddress 127.0.0.1
HostKey {d / 'host'}
AuthorizedKeysFile {d / 'authorized_keys'}
PidFile {d / 'sshd.pid'}
StrictModes no
PermitRootLogin yes
PubkeyAuthentication yes
PasswordAuthentication no
KbdInteractiveAuthentication no
UsePAM no
MaxStartups 50
MaxSessions 50
""")
    if os.geteuid() == 0:  # sshd as root insists on its privilege-separation directory (Debian's is /run/sshd)
        Path("/run/sshd").mkdir(mode=0o755, exist_ok=True)
    proc = subprocess.Popen([SSHD, "-D", "-e", "-f", str(d / "sshd_config")], stdout=subprocess.DEVNULL,
                            stderr=open(d / "sshd.log", "w"))
    deadline = time.monotonic() + 10  # startup wait only, not a pass/fail criterion
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"sshd exited: {(d / 'sshd.log').read_text()[-500:]}")
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
            break
        except OSError:
            time.sleep(0.05)
    config = _client_config(d / "ssh_config", alias, port, user, d / "client", known, host_alias)
    return SshServer(port, user, d / "client", config, known, sys.executable, d, alias, proc)
