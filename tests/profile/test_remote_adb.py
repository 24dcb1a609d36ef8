"""adb:// profiling. No Android device exists here, so the transport tests use an ``adb`` stand-in on PATH
(names say ``stand_in``): it keeps a fake /data/local/tmp in tmp_path, copies on push, and runs shell
commands with the real /bin/sh (so the quoting is exercised for real) with stand-in ``getprop`` and
``benchmark_model``/``onnxruntime_perf_test`` that print output in the tools' documented formats.
The parsers are tested on texts in those formats, quoted from the tools' sources and docs.
"""
from __future__ import annotations

import os
import re
import sys
from pathlib import Path

import pytest

import edgekit
from edgekit.errors import RemoteError
from edgekit.profile.benchmark_model import parse_benchmark_model, parse_perf_test
from helpers import onnx_builder, tflite_builder

def as_json(*args, **kwargs) -> dict:
    """edgekit.profile's record as ``--json`` writes it (the typed record must survive the round trip)."""
    from edgekit.profile import ProfileRecord

    rec = edgekit.profile(*args, **kwargs)
    assert isinstance(rec, ProfileRecord) and ProfileRecord.from_dict(rec.to_dict()) == rec
    return rec.to_dict()


ADB = r'''#!{python}
import os, shutil, subprocess, sys
root, log = os.environ["EK_ADB_ROOT"], os.environ["EK_ADB_LOG"]
devices = os.environ.get("EK_ADB_DEVICES", "").split(",")
args = sys.argv[1:]
with open(log, "a") as fh:
    fh.write(repr(args) + "\n")
dev = lambda p: p.replace("/data/local/tmp", root + "/data/local/tmp")
if args == ["devices"]:
    print("List of devices attached")
    print("".join(d + "\tdevice\n" for d in devices if d))
    sys.exit(0)
if args[0] != "-s" or args[1] not in devices:
    print("adb: device '%s' not found" % args[1], file=sys.stderr)
    sys.exit(1)
cmd, rest = args[2], args[3:]
if cmd == "push":
    shutil.copy(rest[0], dev(rest[1]))
    print("%s: 1 file pushed." % rest[0])
    sys.exit(0)
if cmd == "shell":  # like adb: join the words with spaces, hand them to the device's shell
    env = dict(os.environ, PATH=os.environ["EK_ADB_BIN"] + ":" + os.environ["PATH"])
    sys.exit(subprocess.call(["sh", "-c", dev(" ".join(rest))], env=env))
sys.exit(2)
'''

GETPROP = '''#!/bin/sh
case "$1" in
  ro.product.cpu.abi) echo arm64-v8a;; ro.product.model) echo "Pixel 8";; ro.soc.model) echo "Tensor G3";;
  ro.board.platform) echo zuma;; ro.build.version.release) echo 14;;
esac
'''

# benchmark_model's output (format of tensorflow/lite/tools/benchmark/benchmark_model.cc and
# benchmark_tflite_model.cc, LiteRT 1.x/2.x builds with p5/median/p95 and --report_peak_memory_footprint).
BENCHMARK = r'''#!/bin/sh
printf '%s\n' "$@" > "$EK_ADB_ARGS"
for a in "$@"; do case "$a" in --graph=*) graph=${a#--graph=};; --num_runs=*) runs=${a#--num_runs=};;
  --warmup_runs=*) warm=${a#--warmup_runs=};; esac; done
if [ ! -s "$graph" ]; then echo "ERROR: Could not open '$graph'."; echo "ERROR: Benchmarking failed."; exit 1; fi
cat <<EOF
INFO: STARTING!
INFO: Log parameter values verbosely: [0]
INFO: Graph: [$graph]
INFO: Loaded model $graph
INFO: Created TensorFlow Lite XNNPACK delegate for CPU.
VERBOSE: Replacing 2 out of 2 node(s) with delegate (TfLiteXNNPackDelegate) node, yielding 1 partitions for the whole graph.
INFO: The input model file size (MB): 0.000812
INFO: Initialized session in 3.337ms.
INFO: Running benchmark for at least $warm iterations and at least 0 seconds but terminate if exceeding 150 seconds.
INFO: count=$warm first=81913 curr=55502 min=55502 max=81913 avg=58984.7 std=8115 p5=55502 median=56010 p95=81913

INFO: Running benchmark for at least $runs iterations and at least 0 seconds but terminate if exceeding 150 seconds.
INFO: count=$runs first=56576 curr=56299 min=54669 max=60236 avg=56265.8 std=982 p5=54901 median=56180 p95=59012

INFO: Inference timings in us: Init: 3337, First inference: 81913, Warmup (avg): 58984.7, Inference (avg): 56265.8
INFO: Note: as the benchmark tool itself affects memory footprint, the following is only APPROXIMATE to the actual memory footprint of the model at runtime. Take the information at your discretion.
INFO: Memory footprint delta from the start of the tool (MB): init=2.43359 overall=8.67578
INFO: Overall peak memory footprint (MB) via periodic monitoring: 13.1797
INFO: Memory status at the end of exeution:
INFO: - VmRSS              : 13 MB
EOF
'''

# onnxruntime_perf_test's summary (onnxruntime/test/perftest/performance_runner.cc).
PERF_TEST_TEXT = """Session creation time cost: 0.217932 s
First inference time cost: 196 ms
Total inference time cost: 0.49481 s
Total inference requests: 5
Average inference time cost: 98.961997 ms
Total inference run time: 0.494854 s
Number of inferences per second: 10.104
Avg CPU usage: 11 %
Peak working set size: 271122432 bytes
Min Latency: 0.0958204 s
Max Latency: 0.101519 s
P50 Latency: 0.0995086 s
P90 Latency: 0.101519 s
P95 Latency: 0.101519 s
P99 Latency: 0.101519 s
P999 Latency: 0.101519 s
"""
PERF_TEST = "#!/bin/sh\nprintf '%s\\n' \"$@\" > \"$EK_ADB_ARGS\"\ncat <<'EOF'\n" + PERF_TEST_TEXT + "EOF\n"


def _script(path: Path, text: str) -> Path:
    path.write_text(text)
    path.chmod(0o755)
    return path


@pytest.fixture
def android(tmp_path, monkeypatch):
    """An adb stand-in with one device 'R5CT1234' and a benchmark_model already in /data/local/tmp."""
    bin_dir, dev_bin, root = tmp_path / "bin", tmp_path / "devbin", tmp_path / "device"
    for d in (bin_dir, dev_bin, root / "data/local/tmp"):
        d.mkdir(parents=True)
    _script(bin_dir / "adb", ADB.format(python=sys.executable))
    _script(dev_bin / "getprop", GETPROP)
    _script(root / "data/local/tmp/benchmark_model", BENCHMARK)
    env = {"EK_ADB_ROOT": root, "EK_ADB_LOG": tmp_path / "adb.log", "EK_ADB_DEVICES": "R5CT1234",
           "EK_ADB_BIN": dev_bin, "EK_ADB_ARGS": tmp_path / "tool-args"}
    for key, value in env.items():
        monkeypatch.setenv(key, str(value))
    monkeypatch.setenv("PATH", f"{bin_dir}:{os.environ['PATH']}")
    return tmp_path


def _tool_args(android) -> list[str]:
    return (android / "tool-args").read_text().splitlines()


def _left_on_device(android) -> list[str]:
    return sorted(p.name for p in (android / "device/data/local/tmp").iterdir())


def test_stand_in_adb_tflite_record(android):
    name = f"ek-pwned-{os.getpid()}"  # a file name cannot hold '/': the payload cds to $HOME first
    marker = Path.home() / name
    model = tflite_builder.add_relu_model(android / f"m $(cd;touch {name});cd;touch {name};x.tflite")
    r = as_json(model, "android-arm64", remote="adb://", warmup=2, runs=7)
    args = _tool_args(android)
    # (the stand-in maps /data/local/tmp into tmp_path)
    assert re.fullmatch(rf"--graph={android}/device/data/local/tmp/edgekit\.[0-9a-f]{{12}}/model\.tflite", args[0])
    assert {"--num_threads=4", "--warmup_runs=2", "--num_runs=7", "--report_peak_memory_footprint=true",
            "--use_xnnpack=true", "--min_secs=0"} <= set(args)
    assert r["measured_on"] == "adb://R5CT1234" and r["runs"] == 7 and r["format"] == "tflite"
    assert r["runtime"] == {"name": "benchmark_model", "version": "unknown", "delegate": "xnnpack"}
    lat = r["latency_ms"]  # us in the tool's output -> ms in the record
    assert (lat["mean"], lat["p50"], lat["min"], lat["max"], lat["std"]) == pytest.approx(
        (56.2658, 56.180, 54.669, 60.236, 0.982))
    assert lat["p90"] is None and lat["p99"] is None and "p90 and p99 are not reported (null)" in r["note"]
    assert (r["load_ms"], r["first_run_ms"], r["warmup_avg_ms"]) == pytest.approx((3.337, 81.913, 58.9847))
    assert r["memory_mb"]["peak_rss"] == pytest.approx(13.1797) and r["memory_mb"]["init"] == pytest.approx(2.43359)
    assert r["memory_mb"]["growth"] == pytest.approx(8.67578) and r["memory_mb"]["baseline_rss"] is None
    assert r["delegated"] == {"nodes": 2, "of": 2, "delegate": "TfLiteXNNPackDelegate"}
    assert (r["host"]["arch"], r["host"]["cpu"], r["host"]["os"]) == ("arm64-v8a", "Tensor G3", "Android 14")
    assert r["budget"]["latency_ms"]["statistic"] == "p50" and r["budget"]["latency_ms"]["pass"] is False
    assert not any("is x86_64" in w for w in r["warnings"])  # arm64-v8a is the target's aarch64
    assert _left_on_device(android) == ["benchmark_model"] and not marker.exists()


def test_stand_in_adb_pushes_the_given_binary_and_uses_the_gpu_delegate(android, tmp_path):
    (android / "device/data/local/tmp/benchmark_model").unlink()
    binary = _script(tmp_path / "android_aarch64_benchmark_model", BENCHMARK)
    model = tflite_builder.add_relu_model(tmp_path / "m.tflite")
    r = as_json(model, "android-arm64", remote="adb://R5CT1234", benchmark_binary=binary,
                        delegate="gpu", threads=2, warmup=0, runs=3)
    args = _tool_args(android)
    assert "--use_gpu=true" in args and "--use_xnnpack=true" not in args and "--num_threads=2" in args
    assert r["runtime"]["delegate"] == "gpu" and r["runs"] == 3
    pushes = [json_args for json_args in (android / "adb.log").read_text().splitlines() if "'push'" in json_args]
    assert any(str(binary) in p for p in pushes)
    assert _left_on_device(android) == []


def test_stand_in_adb_without_benchmark_model_says_where_to_get_it(android, tmp_path):
    (android / "device/data/local/tmp/benchmark_model").unlink()
    model = tflite_builder.add_relu_model(tmp_path / "m.tflite")
    with pytest.raises(RemoteError, match=r"no benchmark_model on R5CT1234.*--benchmark-binary PATH"):
        edgekit.profile(model, "android-arm64", remote="adb://")
    assert _left_on_device(android) == []


def test_stand_in_adb_onnx_needs_perf_test(android, tmp_path):
    model = onnx_builder.add_relu_model(tmp_path / "m.onnx")
    with pytest.raises(RemoteError, match=r"no onnxruntime_perf_test.*--perf-test-binary PATH"):
        edgekit.profile(model, "android-arm64", remote="adb://")
    perf = _script(tmp_path / "onnxruntime_perf_test", PERF_TEST)
    r = as_json(model, "android-arm64", remote="adb://", perf_test_binary=perf, runs=5, delegate="nnapi")
    args = _tool_args(android)
    assert args[:6] == ["-I", "-m", "times", "-r", "5", "-x"] and args[-3:-1] == ["-e", "nnapi"]
    assert args[-1].endswith("/model.onnx")
    assert r["runtime"]["name"] == "onnxruntime_perf_test" and r["runs"] == 5
    assert (r["latency_ms"]["p50"], r["latency_ms"]["p99"], r["load_ms"]) == pytest.approx((99.5086, 101.519, 217.932))
    assert r["memory_mb"]["peak_rss"] == pytest.approx(271122432 / 2**20) and r["latency_ms"]["std"] is None
    assert _left_on_device(android) == ["benchmark_model"]


def test_stand_in_adb_device_selection(android, monkeypatch, tmp_path):
    model = tflite_builder.add_relu_model(tmp_path / "m.tflite")
    monkeypatch.setenv("EK_ADB_DEVICES", "R5CT1234,emulator-5554")
    with pytest.raises(RemoteError, match=r"exactly one.*2 are attached: R5CT1234, emulator-5554.*adb://SERIAL"):
        edgekit.profile(model, "android-arm64", remote="adb://")
    with pytest.raises(RemoteError, match=r"device 0123 is not ready.*absent"):
        edgekit.profile(model, "android-arm64", remote="adb://0123")
    r = as_json(model, "android-arm64", remote="adb://emulator-5554", warmup=0, runs=2)
    assert r["measured_on"] == "adb://emulator-5554"


# --------------------------------------------------------------------------- parsers on documented texts
OLD_FORMAT = """STARTING!
Num threads: [4]
Graph: [./mobilenet_v1_1.0_224.tflite]
Loaded model ./mobilenet_v1_1.0_224.tflite
Initialized session in 17.187ms.
Running benchmark for at least 1 iterations and at least 0.5 seconds but terminate if exceeding 150 seconds.
count=1 curr=3512391

Running benchmark for at least 50 iterations and at least 1 seconds but terminate if exceeding 150 seconds.
count=50 first=2990275 curr=2913402 min=2727568 max=3189954 avg=2.95034e+06 std=109798

Inference timings in us: Init: 17187, First inference: 3512391, Warmup (avg): 3.51239e+06, Inference (avg): 2.95034e+06
Note: as the benchmark tool itself affects memory footprint, the following is only APPROXIMATE to the actual memory footprint of the model at runtime. Take the information at your discretion.
Peak memory footprint (MB): init=4.92969 overall=138.809
"""

LOGCAT = """07-08 15:34:26.201 I/tflite  ( 5395): count=10 first=2653894 curr=2709263 min=2640862 max=3025403 avg=2.71985e+06 std=105101 p5=2640862 median=2709263 p95=3025403
07-08 15:34:26.202 I/tflite  ( 5395): Inference timings in us: Init: 458883, First inference: 2732148, Warmup (avg): 2.73215e+06, Inference (avg): 2.71985e+06
07-08 15:34:26.202 I/tflite  ( 5395): Memory footprint delta from the start of the tool (MB): init=286.73 overall=337
"""


def test_parse_old_format_with_exponents():
    p = parse_benchmark_model(OLD_FORMAT)
    assert p["runs"] == 50  # the timed count line, not the warm-up's count=1
    assert (p["init_us"], p["first_us"], p["warmup_avg_us"], p["inference_avg_us"]) == (17187, 3512391, 3512390, 2950340)
    assert p["stats_us"] == {"first": 2990275, "curr": 2913402, "min": 2727568, "max": 3189954, "avg": 2950340,
                             "std": 109798}
    assert p["memory_mb"] == {"init": 4.92969, "overall": 138.809, "peak": None} and p["delegated"] is None


def test_parse_logcat_prefixed_lines():
    p = parse_benchmark_model(LOGCAT)
    assert p["runs"] == 10 and p["stats_us"]["median"] == 2709263 and p["stats_us"]["p95"] == 3025403
    assert p["inference_avg_us"] == 2719850 and p["memory_mb"] == {"init": 286.73, "overall": 337.0, "peak": None}


def test_record_without_median_has_null_p50_and_budget_uses_the_mean():
    from edgekit.profile import ProfileRecord, check_budgets
    from edgekit.profile.benchmark_model import benchmark_model_record

    raw = benchmark_model_record(parse_benchmark_model(OLD_FORMAT), 4, 1, None)
    assert raw["latency_ms"]["p50"] is None and raw["latency_ms"]["mean"] == pytest.approx(2950.34)
    assert raw["memory_mb"]["peak_rss"] is None and raw["memory_mb"]["growth"] == pytest.approx(138.809)
    rec = ProfileRecord.from_dict({**raw, "model": "m.tflite", "target": "android-arm64", "measured_on": "adb://x",
                                   "model_bytes": 1000})
    budget = check_budgets(rec, edgekit.get_target("android-arm64"))
    assert budget["latency_ms"].statistic == "mean (no p50 reported)" and budget["latency_ms"].passed is False
    assert budget["memory_mb"].passed is None and budget["model_mb"].passed is True


def test_parse_failure_quotes_the_tool_error():
    text = "INFO: STARTING!\nERROR: Could not open '/data/local/tmp/x.tflite'.\nERROR: Benchmarking failed.\n"
    with pytest.raises(RemoteError, match=r"did not finish.*ERROR: Benchmarking failed"):
        parse_benchmark_model(text)
    with pytest.raises(RemoteError, match="onnxruntime_perf_test did not finish"):
        parse_perf_test("Error: model file not found\n")


def test_parse_perf_test():
    p = parse_perf_test(PERF_TEST_TEXT.replace("Average inference time cost:", "Average inference time cost total:"))
    assert (p["avg_ms"], p["first_ms"], p["requests"], p["session_s"]) == (98.961997, 196, 5, 0.217932)
    assert (p["p50_s"], p["p90_s"], p["min_s"], p["peak_bytes"]) == (0.0995086, 0.101519, 0.0958204, 271122432)
