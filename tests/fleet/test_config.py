"""Bad fleet input: one line each, exit 1, nothing started. And the pieces: selection, store, job keys."""
from __future__ import annotations

import dataclasses
import json

import pytest

from fleet_helpers import HOST
from edgekit.cli import main as cli_main
from edgekit.fleet import FleetError, load_fleet
from edgekit.fleet.jobs import job_key, prepare_model, versions
from edgekit.fleet.store import ResultStore
from edgekit.profile import Protocol
from helpers import onnx_builder

GOOD = f'[[devices]]\nname = "a"\ntarget = "{HOST}"\naddress = "host"\n'


def dev(name, address, target=HOST, extra=""):
    return f'[[devices]]\nname = "{name}"\ntarget = "{target}"\naddress = "{address}"\n{extra}\n'


@pytest.mark.parametrize("text, message", [
    (dev("a", "host") + dev("a", "ssh://pi"), "two devices are named 'a'"),
    (dev("a", "host", target="toaster"), "device 1 ('a'): unknown target 'toaster'"),
    (dev("a", "ssh://pi;touch /tmp/x"), "device 1 ('a'): remote address 'ssh://pi;touch /tmp/x' is not valid"),
    (dev("a", "ssh://$(reboot)"), "is not valid"),
    (dev("a", "ssh://pi@10.0.0.7") + dev("b", "ssh://root@10.0.0.7:22"), "devices 'a' and 'b' have the same address"),
    (dev("a", "host") + dev("b", "host"), "have the same address"),
    (dev("a", "host", extra="colour = 1"), "unknown key 'colour'"),
    (dev("a", "host", extra="slots = 0"), "slots must be a whole number from 1 to 64"),
    (dev("a", "ftp://x"), "is not one edgekit can reach"),
    (dev("a", "host") + "[extra]\nx = 1\n", "unknown key 'extra'"),
    ("[[devices]]\nname = 'a'\n", "'target' is missing"),
    ("devices = [", "is not valid TOML")])
def test_bad_fleet_file_is_one_line_exit_1_and_nothing_runs(tmp_path, capsys, text, message):
    fleet, store, out = tmp_path / "fleet.toml", tmp_path / "s.jsonl", tmp_path / "o.json"
    fleet.write_text(text)
    model = onnx_builder.add_relu_model(tmp_path / "m.onnx")
    rc = cli_main(["profile", str(model), "--fleet", str(fleet), "--store", str(store), "--json", str(out),
                   "--ray", "off"])
    err = capsys.readouterr().err
    assert rc == 1 and err.count("\n") == 1 and message in err, err
    assert not store.exists() and not out.exists()  # no job started, nothing written


def test_unreachable_ray_address_is_one_line_exit_1(tmp_path, capsys):
    from helpers.sshd import free_port

    pytest.importorskip("ray")
    fleet, store = tmp_path / "fleet.toml", tmp_path / "s.jsonl"
    fleet.write_text(GOOD)
    model = onnx_builder.add_relu_model(tmp_path / "m.onnx")
    for address, message in ((f"127.0.0.1:{free_port()}", "cannot reach Ray at 127.0.0.1:"),
                             ("nonsense", "is not auto, off or HOST:PORT")):
        rc = cli_main(["profile", str(model), "--fleet", str(fleet), "--store", str(store), "--ray", address])
        err = capsys.readouterr().err
        assert rc == 1 and err.count("\n") == 1 and message in err, err
    assert not store.exists()


def test_fleet_with_single_device_flags_is_refused(tmp_path, capsys):
    fleet = tmp_path / "fleet.toml"
    fleet.write_text(GOOD)
    model = onnx_builder.add_relu_model(tmp_path / "m.onnx")
    assert cli_main(["profile", str(model), "--fleet", str(fleet), "--remote", "ssh://x"]) == 1
    assert "--fleet and --remote together" in capsys.readouterr().err


def test_selection_by_name_and_tag(tmp_path):
    path = tmp_path / "fleet.toml"
    path.write_text(dev("a", "host", extra='tags = ["x"]') + dev("b", "adb://B")
                    + dev("c", "adb://C", extra='tags = ["x", "y"]'))
    fleet = load_fleet(path)
    assert [d.name for d in fleet.select(["c", "a"]).devices] == ["a", "c"]  # the file's order
    assert [d.name for d in fleet.select(tags=["y"]).devices] == ["c"]
    assert fleet.devices[0].resource == "edgekit-device:a"
    with pytest.raises(FleetError, match="--devices names 'z'"):
        fleet.select(["z"])
    with pytest.raises(FleetError, match="no device .* carries tag q"):
        fleet.select(tags=["q"])


def test_store_skips_a_torn_line_and_appends_on_a_fresh_one(tmp_path):
    path = tmp_path / "s.jsonl"
    with ResultStore(path) as st:
        st.append("k1", {"x": 1})
    with open(path, "ab") as fh:
        fh.write(b'{"job": "k2", "rec')  # what a kill during a write could leave
    with ResultStore(path) as st:
        assert st.load() == {"k1": {"x": 1}}
        st.append("k3", {"x": 3})
        assert st.load() == {"k1": {"x": 1}, "k3": {"x": 3}}
        with pytest.raises(FleetError, match="in use by another fleet run"):
            ResultStore(path).__enter__()  # a second driver on the same store
    assert [json.loads(l)["job"] for l in path.read_text().splitlines()[::2]] == ["k1", "k3"]


def test_job_key_follows_what_decides_the_result(tmp_path):
    path = tmp_path / "fleet.toml"
    path.write_text(dev("a", "host") + dev("b", "adb://B"))
    a, b = load_fleet(path).devices
    m = prepare_model(onnx_builder.add_relu_model(tmp_path / "m.onnx"))
    moved = prepare_model(onnx_builder.add_relu_model(tmp_path / "elsewhere.onnx"))  # same bytes, other path
    other = prepare_model(onnx_builder.add_relu_model(tmp_path / "n.onnx", n=8))
    v = versions()
    key = job_key(m, a, Protocol(runs=3), v)
    assert key == job_key(moved, a, Protocol(runs=3), v)
    assert len({key, job_key(other, a, Protocol(runs=3), v), job_key(m, b, Protocol(runs=3), v),
                job_key(m, a, Protocol(runs=4), v), job_key(m, a, Protocol(runs=3), {**v, "onnxruntime": "0"}),
                job_key(m, dataclasses.replace(a, target=dataclasses.replace(a.target, threads=7)),
                        Protocol(runs=3), v)}) == 6


def test_without_ray_auto_runs_in_process(tmp_path, monkeypatch):
    from edgekit.errors import DependencyError
    from edgekit.fleet import Policy, engine

    path = tmp_path / "fleet.toml"
    path.write_text(GOOD)
    monkeypatch.setattr(engine, "ray_installed", lambda: False)
    assert isinstance(engine.make_engine(load_fleet(path), Protocol(), Policy(), "auto"), engine.ThreadEngine)
    with pytest.raises(DependencyError, match="needs Ray.*edgekit\\[ray\\]"):
        engine.make_engine(load_fleet(path), Protocol(), Policy(), "10.0.0.2:6379")


def test_progress_counts_the_matrix_with_each_devices_state(tmp_path):
    from edgekit.fleet import FleetProgress
    from edgekit.profile.record import NotRun

    path = tmp_path / "fleet.toml"
    path.write_text(dev("a", "host") + dev("b", "adb://B"))
    fleet = load_fleet(path)
    models = [prepare_model(onnx_builder.add_relu_model(tmp_path / f"m{n}.onnx", n=n)) for n in (2, 3)]
    from edgekit.fleet.jobs import plan

    jobs = plan(models, fleet.devices, Protocol())
    bar = FleetProgress(fleet, jobs, {jobs[0].key: None}, show=False)  # job 0 (m2 on a) came from the store
    assert bar.states() == {"a": "1/2", "b": "0/2"}
    bar.update(NotRun("m2.onnx", HOST, "b", "adb://B", "device down", "gone"))
    assert bar.states() == {"a": "1/2", "b": "down"}
