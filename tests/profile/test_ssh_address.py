"""An ssh error names the login it tried: the user stays in the address shown (measured_on leaves it out)."""
from __future__ import annotations

import pytest

import edgekit
from edgekit.errors import RemoteError

import platform

TARGET = "x86_64" if platform.machine().lower() in ("x86_64", "amd64") else "linux-arm64"


def test_refused_login_names_the_user(sshd, onnx_model):
    # a user the server does not have: ssh exits 255 with "Permission denied"
    with pytest.raises(RemoteError, match=r"ssh login to ssh://ek-no-such-user@ekpi was refused"):
        edgekit.profile(onnx_model, TARGET, remote="ssh://ek-no-such-user@ekpi", ssh_config=sshd.config,
                        remote_python=sshd.python)
