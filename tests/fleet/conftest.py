"""The fleet's real parts: three OpenSSH servers on 127.0.0.1 (one port each, and three address forms:
user@ip:port, an ssh-config alias, ip:port with --identity) plus the ``host`` device, and one local Ray
session (``ray.init(num_cpus=2)``) shared by the module's tests, since Ray takes seconds to start.

All three servers log in the test's own account: a second account on this machine cannot run the
test's interpreter (it lives under /root, mode 0700), and the "device's" Python must be that one.
"""
from __future__ import annotations

from pathlib import Path

import pytest

from fleet_helpers import DEVICE_NAMES, HOST, device_table  # noqa: F401
from helpers import onnx_builder
from helpers.sshd import available, start_sshd


@pytest.fixture(scope="session")
def servers(tmp_path_factory):
    if not available():
        pytest.skip("OpenSSH server/client not installed: apt-get install -y openssh-server openssh-client")
    started = []
    try:
        for alias in ("eka", "ekb", "ekc"):
            started.append(start_sshd(tmp_path_factory.mktemp(f"sshd-{alias}"), alias=alias))
    except RuntimeError as exc:
        pytest.fail(str(exc))
    yield started
    for s in started:
        s.stop()


@pytest.fixture(scope="session")
def fleet_file(servers, tmp_path_factory) -> Path:
    a, b, c = servers
    text = "\n".join([
        device_table("pi-a", f"ssh://{a.user}@127.0.0.1:{a.port}", a, tags=("arm",)),
        device_table("pi-b", f"ssh://{b.alias}", b, tags=("arm",)),
        device_table("pi-c", f"ssh://127.0.0.1:{c.port}", c, identity=True),
        device_table("here", "host", tags=("x86",))])
    path = tmp_path_factory.mktemp("fleet") / "fleet.toml"
    path.write_text(text)
    return path


@pytest.fixture(scope="session")
def models(tmp_path_factory) -> list[Path]:
    d = tmp_path_factory.mktemp("fleet-models")
    return [onnx_builder.add_relu_model(d / "a.onnx"), onnx_builder.add_relu_model(d / "b.onnx", n=8)]


@pytest.fixture(scope="module")  # one module uses it; Ray is gone before other directories' tests run
def ray_session():
    ray = pytest.importorskip("ray", reason="the Ray engine needs the edgekit[ray] extra (in .[dev])")
    ray.init(num_cpus=2, resources={f"edgekit-device:{n}": 1 for n in DEVICE_NAMES}, include_dashboard=False,
             log_to_driver=False, configure_logging=False)
    yield ray.get_runtime_context().gcs_address
    ray.shutdown()
