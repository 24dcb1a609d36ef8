"""Remote profiling over ssh, for real: OpenSSH client -> sshd on 127.0.0.1 (see conftest.py)."""
from __future__ import annotations

import glob
import os
import platform
import signal
import shutil
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

import edgekit
from edgekit.cli import main as cli_main
from edgekit.errors import InputError, ModelError, RemoteError
from edgekit.profile import ssh as ssh_mod
from edgekit.profile.remote import parse_remote
from helpers import tflite_builder

TARGET = "x86_64" if platform.machine().lower() in ("x86_64", "amd64") else "linux-arm64"
def as_json(*args, **kwargs) -> dict:
    """edgekit.profile's record as ``--json`` writes it (the typed record must survive the round trip)."""
    from edgekit.profile import ProfileRecord

    rec = edgekit.profile(*args, **kwargs)
    assert isinstance(rec, ProfileRecord) and ProfileRecord.from_dict(rec.to_dict()) == rec
    return rec.to_dict()


FAST = dict(warmup=1, runs=5)


@pytest.fixture
def workdirs(monkeypatch):
    """Record every temp dir measure_ssh created on the 'device' (here: this machine's /tmp)."""
    made = []
    real = ssh_mod.probe_facts

    def spy(stdout):
        facts, rest = real(stdout)
        made.extend([facts["dir"]] if facts else [])
        return facts, rest

    monkeypatch.setattr(ssh_mod, "probe_facts", spy)
    return made


def test_profile_over_ssh_alias_returns_the_device_record(sshd, onnx_model, workdirs):
    r = as_json(onnx_model, TARGET, remote="ssh://ekpi", ssh_config=sshd.config,
                        remote_python=sshd.python, **FAST)
    assert r["measured_on"] == "ssh://ekpi"
    assert r["runtime"]["name"] == "onnxruntime" and r["runs"] == 5 and r["format"] == "onnx"
    # the device's facts came back from the device runner (here the device is this machine)
    assert r["host"]["arch"] == platform.machine() and r["host"]["cores"] >= 1 and r["host"]["ram_mb"] > 0
    assert {"cpu", "governor"} <= set(r["host"]) and {"before", "after"} == set(r["temperature_c"])
    lat = r["latency_ms"]
    assert 0 < lat["min"] <= lat["p50"] <= lat["p99"] <= lat["max"]
    assert r["memory_mb"]["peak_rss"] > 0 and isinstance(r["warnings"], list)
    assert len(workdirs) == 1 and workdirs[0].startswith("/") and not Path(workdirs[0]).exists()


def test_url_with_user_and_port_and_identity_records_no_user(sshd, tmp_path):
    model = tflite_builder.add_relu_model(tmp_path / "m.tflite")
    url = f"ssh://{sshd.user}@127.0.0.1:{sshd.port}"
    r = as_json(model, TARGET, remote=url, ssh_config=sshd.config, identity=sshd.key,
                        remote_python=sshd.python, **FAST)
    assert r["measured_on"] == f"ssh://127.0.0.1:{sshd.port}" and sshd.user not in r["measured_on"]
    assert r["format"] == "tflite" and r["runtime"]["name"] == "ai_edge_litert"


def test_cli_remote_flags_reach_ssh_and_errors_are_one_line(sshd, onnx_model, tmp_path, capsys):
    config = tmp_path / "config"  # a known_hosts without the server's key: fails fast, before any copy
    config.write_text(sshd.config.read_text().replace(str(sshd.known_hosts), str(tmp_path / "empty")))
    rc = cli_main(["profile", str(onnx_model), "--target", TARGET, "--remote", "ssh://ekpi",
                   "--ssh-config", str(config), "--identity", str(sshd.key), "--remote-python", sshd.python])
    err = capsys.readouterr().err
    assert rc == 2 and err.count("\n") == 1 and "cannot verify the host key of ssh://ekpi" in err


def test_unknown_host_key_is_an_error_and_is_not_added(sshd, onnx_model, tmp_path):
    empty = tmp_path / "known_hosts"
    empty.write_text("")
    config = tmp_path / "config"
    config.write_text(sshd.config.read_text().replace(str(sshd.known_hosts), str(empty)))
    with pytest.raises(RemoteError, match=r"cannot verify the host key.*never turns host-key checking off"):
        edgekit.profile(onnx_model, TARGET, remote="ssh://ekpi", ssh_config=config, remote_python=sshd.python)
    assert empty.read_text() == ""


def test_changed_host_key_and_refused_login_are_told_apart(sshd, onnx_model, tmp_path):
    subprocess.run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-f", str(tmp_path / "other")], check=True)
    other_pub = " ".join((tmp_path / "other.pub").read_text().split()[:2])
    (tmp_path / "changed_hosts").write_text(f"ek-test-sshd {other_pub}\n")  # a different key for this host
    changed = tmp_path / "changed"
    changed.write_text(sshd.config.read_text().replace(str(sshd.known_hosts), str(tmp_path / "changed_hosts")))
    with pytest.raises(RemoteError, match=r"host key of ssh://ekpi has CHANGED.*ssh-keygen -R ekpi"):
        edgekit.profile(onnx_model, TARGET, remote="ssh://ekpi", ssh_config=changed, remote_python=sshd.python)
    wrong_key = tmp_path / "wrong_key"  # the client key is not offered; a key the server does not know is
    wrong_key.write_text(sshd.config.read_text().replace(f"IdentityFile {sshd.key}", ""))
    with pytest.raises(RemoteError, match=r"ssh login to ssh://ekpi was refused: .*Permission denied.*--identity"):
        edgekit.profile(onnx_model, TARGET, remote="ssh://ekpi", ssh_config=wrong_key, identity=tmp_path / "other",
                        remote_python=sshd.python)


def test_missing_python_says_what_to_install(sshd, onnx_model):
    with pytest.raises(RemoteError, match=r"no Python at '/nonexistent/python3'.*apt install python3"):
        edgekit.profile(onnx_model, TARGET, remote="ssh://ekpi", ssh_config=sshd.config,
                        remote_python="/nonexistent/python3")


def test_missing_numpy_and_runtime_say_what_to_install(sshd, onnx_model, tmp_path, workdirs):
    bare = tmp_path / "bare-python"  # the same interpreter without site-packages: no numpy, no onnxruntime
    bare.write_text(f'#!/bin/sh\nexec {sys.executable} -I -S "$@"\n')
    bare.chmod(0o755)
    with pytest.raises(RemoteError, match=r"numpy, onnxruntime missing.*-m pip install numpy onnxruntime"):
        edgekit.profile(onnx_model, TARGET, remote="ssh://ekpi", ssh_config=sshd.config, remote_python=str(bare))
    assert workdirs and not Path(workdirs[0]).exists()


def test_runner_failure_on_device_cleans_up(sshd, tmp_path, workdirs):
    """A well-formed model that fails when run (Gather index 5 of 3 rows: only a run finds it)."""
    from helpers.onnx_builder import gather_out_of_range_model

    broken = gather_out_of_range_model(tmp_path / "broken.onnx")
    with pytest.raises(ModelError, match="onnxruntime failed running node 'pick'"):
        edgekit.profile(broken, TARGET, remote="ssh://ekpi", ssh_config=sshd.config, remote_python=sshd.python)
    assert workdirs and not Path(workdirs[0]).exists()


def _processes_in(directory: str) -> list[int]:
    """pids whose working directory is ``directory`` (the runner runs there)."""
    found = []
    for proc in Path("/proc").iterdir():
        try:
            if proc.name.isdigit() and os.readlink(proc / "cwd").startswith(directory):
                found.append(int(proc.name))
        except OSError:
            continue
    return found


def test_ctrl_c_during_the_run_stops_the_runner_and_removes_the_dir(sshd, onnx_model):
    # SIGINT to this process once the device runner is busy (its pid file exists): what a user's Ctrl-C does.
    before = set(glob.glob("/tmp/edgekit.*"))
    seen = []

    def interrupt_when_running():
        deadline = time.monotonic() + 60  # a guard against hanging, not a pass/fail criterion
        while time.monotonic() < deadline and not seen:
            seen.extend(p for p in glob.glob("/tmp/edgekit.*/pid") if os.path.dirname(p) not in before)
            time.sleep(0.05)
        time.sleep(0.3)
        os.kill(os.getpid(), signal.SIGINT)

    threading.Thread(target=interrupt_when_running, daemon=True).start()
    with pytest.raises(KeyboardInterrupt):
        edgekit.profile(onnx_model, TARGET, remote="ssh://ekpi", ssh_config=sshd.config,
                        remote_python=sshd.python, warmup=0, duration=30)
    assert len(seen) == 1
    workdir = os.path.dirname(seen[0])
    assert not Path(workdir).exists() and _processes_in(workdir) == []


def test_hostile_model_path_and_python_run_nothing(sshd, onnx_model, tmp_path):
    marker = tmp_path / "pwned"
    name = f"ek-pwned-{os.getpid()}"  # a file name cannot hold '/': the payload cds to $HOME first
    marker = Path.home() / name
    hostile = tmp_path / f"m $(cd;touch {name}) `cd;touch {name}`;cd;touch {name};.onnx"
    shutil.copy(onnx_model, hostile)
    r = as_json(hostile, TARGET, remote="ssh://ekpi", ssh_config=sshd.config, remote_python=sshd.python,
                        **FAST)
    assert r["model"] == str(hostile) and r["runs"] == 5
    for python in (f"python3; touch {marker}", "~/$(cd;touch " + name + ")"):
        with pytest.raises(RemoteError):
            edgekit.profile(onnx_model, TARGET, remote="ssh://ekpi", ssh_config=sshd.config, remote_python=python)
    assert not marker.exists()


@pytest.mark.parametrize("url", ["ssh://x;touch {m}", "ssh://x$(touch {m})", "ssh://`touch {m}`@ekpi",
                                 "ssh://-oProxyCommand=touch {m}", "ssh://x touch {m}", "adb://x;touch {m}",
                                 "adb://$(touch {m})", "ssh://ekpi:22;touch {m}"])
def test_hostile_host_user_serial_start_nothing(tmp_path, onnx_model, monkeypatch, url):
    marker = tmp_path / "pwned"
    calls = tmp_path / "calls"
    for tool in ("ssh", "adb"):  # stand-ins that log any start: none may happen
        (tmp_path / tool).write_text(f'#!/bin/sh\necho "$0 $*" >> {calls}\n')
        (tmp_path / tool).chmod(0o755)
    monkeypatch.setenv("PATH", f"{tmp_path}:/usr/bin:/bin")
    with pytest.raises(InputError, match="nothing was run"):
        edgekit.profile(onnx_model, TARGET, remote=url.format(m=marker))
    assert not marker.exists() and not calls.exists()


def test_remote_command_quotes_every_word_for_a_posix_shell(tmp_path):
    marker = tmp_path / "pwned"
    words = ["printf", "%s\\n", f"a b;touch {marker}", f"$(touch {marker})", f"`touch {marker}`", "it's", "*", "~"]
    out = subprocess.run(["sh", "-c", ssh_mod.remote_command(words)], capture_output=True, text=True, cwd=tmp_path)
    assert out.stdout.splitlines() == words[2:] and not marker.exists()
    assert ssh_mod.remote_command([ssh_mod.remote_path("~/venv/bin/python")]) == '"$HOME"/venv/bin/python'


@pytest.mark.parametrize("url, host, user, port, shown", [
    ("ssh://mypi", "mypi", None, None, "ssh://mypi"),
    ("ssh://pi@raspberrypi.local:2222", "raspberrypi.local", "pi", 2222, "ssh://raspberrypi.local:2222"),
    ("ssh://root@[fe80::1%eth0]:22", "fe80::1%eth0", "root", 22, "ssh://[fe80::1%eth0]:22"),
    ("ssh://10.0.0.7/", "10.0.0.7", None, None, "ssh://10.0.0.7")])
def test_parse_ssh_addresses(url, host, user, port, shown):
    a = parse_remote(url)
    assert (a.host, a.user, a.port, a.shown) == (host, user, port, shown)


@pytest.mark.parametrize("url, message", [("ssh://pi:secret@host", "contains a password"),
                                          ("ssh://host:99999", "port"), ("scp://host", "not an ssh://"),
                                          ("ssh://[::1;touch x]:22", "IPv6 host is hex digits"),
                                          ("host", "not an ssh://")])
def test_bad_addresses(url, message):
    with pytest.raises(InputError, match=message) as info:
        parse_remote(url)
    assert "secret" not in str(info.value)


def test_ssh_argv_keeps_host_key_checking_and_ends_options():
    session = ssh_mod.SshSession(ssh_mod.SshAddress("h", "u", 2200), ssh_mod.SshOptions())
    try:
        argv = session.argv("true")
    finally:
        session.close()
    joined = " ".join(argv)
    assert "BatchMode=yes" in joined and "ConnectTimeout=10" in joined
    assert "StrictHostKeyChecking" not in joined and "UserKnownHostsFile" not in joined
    assert argv[-3:] == ["--", "h", "true"] and argv[argv.index("-p") + 1] == "2200"
