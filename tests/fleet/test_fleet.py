"""edgekit profile --fleet on a real local Ray and in-process: three sshd devices and the host."""
from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

from fleet_helpers import FAST, HOST, device_table
from edgekit.cli import main as cli_main

DEVICES = ["pi-a", "pi-b", "pi-c", "here"]


def fleet_cli(models, fleet, store, out, *extra) -> int:
    return cli_main(["profile", *map(str, models), "--fleet", str(fleet), "--store", str(store), "--json", str(out),
                     *FAST, *extra])


def stable(record: dict) -> tuple:
    """What a record says apart from timings: identical on Ray and in-process."""
    return (record["model"], record["device"], record["target"], record["measured_on"], record["format"],
            record["runtime"]["name"], record["runtime"]["version"], record["threads"], record["runs"],
            record["model_bytes"], record["job"], sorted(record["budget"]), record["host"]["arch"])


def test_ray_and_in_process_give_the_same_records_and_a_rerun_measures_nothing(
        ray_session, fleet_file, models, tmp_path, capsys):
    out_ray, out_threads = tmp_path / "ray.json", tmp_path / "threads.json"
    assert fleet_cli(models, fleet_file, tmp_path / "ray.jsonl", out_ray, "--ray", "auto") == 0
    shown = capsys.readouterr().out
    ray_records = json.loads(out_ray.read_text())
    # one record per model x device, model-major, each measured where its device is
    assert [(Path(r["model"]).name, r["device"]) for r in ray_records] == \
        [(m.name, d) for m in models for d in DEVICES]
    assert {r["device"]: r["measured_on"] for r in ray_records}["here"] == "host"
    assert all(r["measured_on"].startswith("ssh://") for r in ray_records if r["device"] != "here")
    assert all(r["latency_ms"]["p50"] > 0 and "not_run" not in r for r in ray_records)
    assert "8 jobs: 8 measured, 0 from the store" in shown and "engine: Ray" in shown
    assert sum(line.startswith(("a.onnx", "b.onnx")) for line in shown.splitlines()) == 8  # one table

    assert fleet_cli(models, fleet_file, tmp_path / "threads.jsonl", out_threads, "--ray", "off") == 0
    assert "engine: in-process threads" in capsys.readouterr().out
    thread_records = json.loads(out_threads.read_text())
    assert [stable(r) for r in thread_records] == [stable(r) for r in ray_records]
    assert set(thread_records[0]) == set(ray_records[0])  # the same keys, too

    again = tmp_path / "again.json"  # nothing new: every job comes from the store, with its first pid
    assert fleet_cli(models, fleet_file, tmp_path / "ray.jsonl", again, "--ray", "auto") == 0
    assert "8 jobs: 0 measured, 8 from the store" in capsys.readouterr().out
    assert [r["pid"] for r in json.loads(again.read_text())] == [r["pid"] for r in ray_records]
    forced = tmp_path / "forced.json"
    assert fleet_cli(models[:1], fleet_file, tmp_path / "ray.jsonl", forced, "--ray", "auto", "--force",
                     "--devices", "here,pi-a") == 0
    assert "2 jobs: 2 measured, 0 from the store" in capsys.readouterr().out


def test_tags_select_devices(fleet_file, models, tmp_path, capsys):
    out = tmp_path / "o.json"
    assert fleet_cli(models[:1], fleet_file, tmp_path / "s.jsonl", out, "--ray", "off", "--tags", "x86") == 0
    assert [r["device"] for r in json.loads(out.read_text())] == ["here"]


def test_a_device_stopped_mid_run_is_retried_marked_down_and_the_rest_goes_on(
        ray_session, servers, models, tmp_path_factory, tmp_path, capsys):
    from helpers import onnx_builder
    from helpers.sshd import start_sshd

    flaky = start_sshd(tmp_path_factory.mktemp("sshd-flaky"), alias="ekf")
    a = servers[0]
    fleet = tmp_path / "fleet.toml"
    fleet.write_text(device_table("pi-a", f"ssh://127.0.0.1:{a.port}", a) + "\n" +
                     device_table("flaky", f"ssh://127.0.0.1:{flaky.port}", flaky) + "\n" +
                     device_table("here", "host"))
    store, out = tmp_path / "s.jsonl", tmp_path / "o.json"
    three = models + [onnx_builder.add_relu_model(tmp_path / "c.onnx", n=16)]

    def stop_after_first_flaky_result():
        while True:  # the store gets a line as each job finishes: stop the server after flaky's first
            if store.is_file() and '"device":"flaky"' in store.read_text():
                flaky.stop()
                return
            time.sleep(0.05)

    watcher = threading.Thread(target=stop_after_first_flaky_result, daemon=True)
    watcher.start()
    rc = fleet_cli(three, fleet, store, out, "--ray", "auto", "--retries", "2")
    captured = capsys.readouterr()
    records = json.loads(out.read_text())
    assert rc == 2 and len(records) == 9  # no result silently missing
    flaky_records = [r for r in records if r["device"] == "flaky"]
    assert sum("not_run" not in r for r in flaky_records) == 1  # its first job finished before the stop
    down = [r for r in flaky_records if "not_run" in r]
    assert len(down) == 2 and all(r["not_run"] == "device down" for r in down)
    assert all("2 attempts failed" in r["error"] and "ssh" in r["error"] for r in down)  # retried, then down
    assert all("not_run" not in r for r in records if r["device"] != "flaky")  # every other result present
    assert captured.out.count("not run: device down") == 2 and captured.err.count("not run (device down)") == 2
    from edgekit.report.records import read_rows

    rows = read_rows(out)  # the report reads OUT: the measured jobs, the not-run entries left out
    assert len(rows) == 7 and {r.measured_on for r in rows} >= {"host", f"ssh://127.0.0.1:{a.port}"}


def test_driver_killed_mid_matrix_resumes_without_measuring_again(ray_session, fleet_file, models, tmp_path,
                                                                   capsys):
    from helpers import onnx_builder

    many = models + [onnx_builder.add_relu_model(tmp_path / f"m{n}.onnx", n=n) for n in (5, 6)]
    store, out = tmp_path / "s.jsonl", tmp_path / "o.json"
    argv = [sys.executable, "-m", "edgekit", "profile", *map(str, many), "--fleet", str(fleet_file), "--store",
            str(store), "--json", str(out), *FAST, "--ray", ray_session, "--devices", "pi-a,here"]
    driver = subprocess.Popen(argv, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True,
                              env={**os.environ, "PYTHONPATH": str(Path(__file__).parents[2])})
    while not (store.is_file() and store.read_text().count("\n") >= 2):
        assert driver.poll() is None, driver.stderr.read()[-2000:]
        time.sleep(0.05)
    driver.send_signal(signal.SIGKILL)
    driver.wait()
    driver.stderr.close()
    stored = [json.loads(line) for line in store.read_text().splitlines() if line.strip()]
    assert 2 <= len(stored) < 8 and not out.exists()  # killed mid-matrix: no OUT, some jobs stored

    assert fleet_cli(many, fleet_file, store, out, "--ray", "auto", "--devices", "pi-a,here") == 0
    shown = capsys.readouterr().out
    assert f"8 jobs: {8 - len(stored)} measured, {len(stored)} from the store" in shown
    records = {r["job"]: r for r in json.loads(out.read_text())}
    assert len(records) == 8 and all("not_run" not in r for r in records.values())
    for entry in stored:  # not measured again: the stored record, its runner pid and all
        assert records[entry["job"]]["pid"] == entry["record"]["pid"]
    assert sum(line.startswith(("a.onnx", "b.onnx", "m5.onnx", "m6.onnx")) for line in shown.splitlines()) == 8
