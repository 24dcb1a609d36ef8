"""A real OpenSSH server on 127.0.0.1 for the remote-profiling tests.

It runs as the current user with a temporary host key, a temporary authorized key and an unprivileged
port; the client side gets its own ssh config and known_hosts (``-F`` makes ssh ignore ~/.ssh/config),
so nothing of the machine's ssh setup is read or changed. The "device's" Python is this test process's
interpreter, which has numpy and the runtimes.
"""
from __future__ import annotations

import getpass
import os
import shutil
import socket
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

import pytest

SSHD = "/usr/sbin/sshd"


@dataclass(frozen=True)
class SshServer:
    port: int
    user: str
    key: Path            # the client's private key (authorized on the server)
    config: Path         # ssh config: alias "ekpi" -> 127.0.0.1:port, plus known_hosts with the host key
    known_hosts: Path
    python: str          # the interpreter on the "device"
    dir: Path


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _client_config(path: Path, port: int, user: str, key: Path, known_hosts: Path) -> Path:
    path.write_text(f"""Host ekpi
  HostName 127.0.0.1
  Port {port}
  User {user}
Host *
  IdentityFile {key}
  IdentitiesOnly yes
  UserKnownHostsFile {known_hosts}
  GlobalKnownHostsFile /dev/null
  StrictHostKeyChecking yes
  HostKeyAlias ek-test-sshd
""")
    return path


@pytest.fixture(scope="session")
def sshd(tmp_path_factory) -> SshServer:
    if not os.access(SSHD, os.X_OK) or shutil.which("ssh") is None:
        pytest.skip("OpenSSH server/client not installed: apt-get install -y openssh-server openssh-client "
                    "(.ci/run does this)")
    d = tmp_path_factory.mktemp("sshd")
    for name in ("host", "client"):
        subprocess.run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-f", str(d / name)], check=True)
    (d / "authorized_keys").write_text((d / "client.pub").read_text())
    port, user = _free_port(), getpass.getuser()
    # HostKeyAlias makes one known_hosts line match both "ekpi" and "[127.0.0.1]:port".
    known = d / "known_hosts"
    known.write_text("ek-test-sshd " + " ".join((d / "host.pub").read_text().split()[:2]) + "\n")
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
            pytest.fail(f"sshd exited: {(d / 'sshd.log').read_text()[-500:]}")
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
            break
        except OSError:
            time.sleep(0.05)
    config = _client_config(d / "ssh_config", port, user, d / "client", known)
    yield SshServer(port, user, d / "client", config, known, sys.executable, d)
    proc.terminate()
    proc.wait(timeout=10)


@pytest.fixture(scope="session")
def onnx_model(tmp_path_factory) -> Path:
    """y = relu(x @ W + b) with x: [1, 16] float: a few microseconds per run."""
    import numpy as np
    import onnx
    from onnx import TensorProto, helper, numpy_helper

    rng = np.random.default_rng(0)
    w = numpy_helper.from_array(rng.standard_normal((16, 8)).astype(np.float32), "W")
    b = numpy_helper.from_array(rng.standard_normal(8).astype(np.float32), "b")
    graph = helper.make_graph(
        [helper.make_node("MatMul", ["x", "W"], ["h"]), helper.make_node("Add", ["h", "b"], ["a"]),
         helper.make_node("Relu", ["a"], ["y"])], "tiny",
        [helper.make_tensor_value_info("x", TensorProto.FLOAT, [1, 16])],
        [helper.make_tensor_value_info("y", TensorProto.FLOAT, [1, 8])], initializer=[w, b])
    # ir_version=10: onnx 1.23 writes IR 14 by default, which onnxruntime 1.31 cannot load.
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)], ir_version=10)
    path = tmp_path_factory.mktemp("models") / "tiny.onnx"
    onnx.save(model, str(path))
    return path
