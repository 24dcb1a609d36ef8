"""Profile on Android over adb with TFLite's ``benchmark_model`` (or ``onnxruntime_perf_test`` for .onnx).

Android has no Python for edgekit's runner, so the native tools measure and ``benchmark_model.py``
parses their output into the profile record. ``adb shell`` joins its arguments with spaces and hands
them to the device's shell, so the command is one string built with ``shlex.quote`` (see ssh.remote_command).
Everything edgekit pushes goes into a fresh ``/data/local/tmp/edgekit.<random>`` that is removed afterwards.
"""
from __future__ import annotations

import re
import secrets
import shutil
import subprocess
from dataclasses import dataclass, field
from pathlib import Path

from ..errors import DependencyError, InputError, RemoteError
from .benchmark_model import benchmark_model_record, parse_benchmark_model, parse_perf_test, perf_test_record
from .runner import Protocol
from .ssh import TEMPS, Op, bad_address, parse_temperatures, remote_command
from .transport import FILE, Kind, register

DEVICE_TMP = "/data/local/tmp"  # the one place an app-less shell user may write and execute on Android
# Where people put the prebuilt tools (TFLite's "Performance measurement" guide pushes to /data/local/tmp).
BENCHMARK_CANDIDATES = (f"{DEVICE_TMP}/benchmark_model", f"{DEVICE_TMP}/android_aarch64_benchmark_model")
PERF_TEST_CANDIDATES = (f"{DEVICE_TMP}/onnxruntime_perf_test",)
DELEGATE_FLAGS = {"xnnpack": "--use_xnnpack=true", "gpu": "--use_gpu=true", "nnapi": "--use_nnapi=true"}
_STEP_TIMEOUT = 120

# One shell line that prints the device's facts as key=value (Android's getprop, /proc, /sys).
_FACTS = Op('echo "abi=$(getprop ro.product.cpu.abi)"; echo "model=$(getprop ro.product.model)"; '
            'echo "soc=$(getprop ro.soc.model)"; echo "board=$(getprop ro.board.platform)"; '
            'echo "release=$(getprop ro.build.version.release)"; echo "cores=$(nproc 2>/dev/null)"; '
            'echo "governor=$(cat /sys/devices/system/cpu/cpu0/cpufreq/scaling_governor 2>/dev/null)"; '
            'echo "memtotal=$(grep MemTotal /proc/meminfo)"')
# adb serials: USB serials are alphanumeric; emulators are emulator-5554; TCP devices are host:port.
_SERIAL = re.compile(r"[A-Za-z0-9_][A-Za-z0-9._:-]{0,127}")


@dataclass(frozen=True)
class AdbAddress:
    serial: str | None = None  # None: the one attached device

    @property
    def shown(self) -> str:
        return f"adb://{self.serial or ''}"


@dataclass(frozen=True)
class AdbOptions:
    benchmark_binary: Path | None = field(default=None, metadata=FILE)  # a benchmark_model to push
    perf_test_binary: Path | None = field(default=None, metadata=FILE)  # an onnxruntime_perf_test, for .onnx
    delegate: str | None = None           # xnnpack | gpu | nnapi (default: the target's first)
    measure_timeout: float | None = None  # seconds for one benchmark (None: no limit; a fleet sets one)


def parse(text: str) -> AdbAddress:
    """``adb://[SERIAL]``; a serial with anything but letters, digits and . _ : - is refused."""
    rest = text.strip().partition("://")[2]
    if rest and not _SERIAL.fullmatch(rest):
        raise bad_address(text, "an adb serial has only letters, digits and . _ : -", "adb://SERIAL (see adb devices)")
    return AdbAddress(rest or None)


class AdbTransport:
    remote = True  # another machine: architecture and throttle warnings apply

    def __init__(self, address: AdbAddress, opts: AdbOptions):
        self.address, self.opts = address, opts

    def measure(self, path: Path, target, proto: Protocol, threads: int) -> dict:
        return measure_adb(Path(path), target, proto, threads, self.address, self.opts)

    def temperatures(self) -> dict[str, float]:
        return temperatures(AdbDevice(find_serial(self.address)))

    def close(self) -> None:
        pass  # each adb call is its own connection to the adb server


class AdbDevice:
    def __init__(self, serial: str):
        self.serial = serial

    def _run(self, args: list[str], timeout, step: str) -> subprocess.CompletedProcess:
        try:
            return subprocess.run(["adb", "-s", self.serial, *args], capture_output=True, text=True,
                                  stdin=subprocess.DEVNULL, timeout=timeout)
        except subprocess.TimeoutExpired:
            raise RemoteError(f"adb {step} on {self.serial} timed out", f"no answer within {timeout} s",
                              "check the device (adb devices) and its USB/Wi-Fi connection") from None

    def shell(self, words, timeout=_STEP_TIMEOUT, step: str = "shell") -> subprocess.CompletedProcess:
        return self._run(["shell", remote_command(words)], timeout, step)

    def push(self, local: Path, remote: str) -> None:
        proc = self._run(["push", str(local), remote], None, "push")
        if proc.returncode != 0:
            raise RemoteError(f"adb push of {Path(local).name} to {self.serial} failed", _last(proc),
                              "check the device is unlocked and has free space in /data/local/tmp")


def find_serial(address: AdbAddress) -> str:
    if shutil.which("adb") is None:
        raise DependencyError("adb is not installed", "profiling on Android runs through adb",
                              "install Android platform-tools (Debian: apt install adb) and put adb on PATH")
    proc = subprocess.run(["adb", "devices"], capture_output=True, text=True, stdin=subprocess.DEVNULL, timeout=30)
    rows = [l.split() for l in proc.stdout.splitlines()[1:] if l.strip() and not l.startswith("*")]
    ready = [r[0] for r in rows if len(r) >= 2 and r[1] == "device"]
    if address.serial:
        state = next((r[1] for r in rows if r[0] == address.serial), None)
        if state != "device":
            raise RemoteError(f"Android device {address.serial} is not ready", f"adb devices says: {state or 'absent'}",
                              "connect it, enable USB debugging and accept the prompt, then check adb devices")
        return address.serial
    if len(ready) != 1:
        why = "no device is attached" if not ready else f"{len(ready)} are attached: {', '.join(ready)}"
        raise RemoteError("adb:// needs exactly one Android device", why, "pass adb://SERIAL (see adb devices)")
    return ready[0]


def measure_adb(path: Path, target, proto: Protocol, threads: int, address: AdbAddress,
                opts: AdbOptions) -> dict:
    from ..runtime.device import detect_format

    fmt = detect_format(str(path))
    delegate = pick_delegate(target, opts)
    dev = AdbDevice(find_serial(address))
    workdir = f"{DEVICE_TMP}/edgekit.{secrets.token_hex(6)}"
    try:
        check(dev.shell([Op("mkdir -p"), workdir], step="mkdir"), "creating a work directory")
        tool = find_tool(dev, fmt, opts, workdir)
        model = f"{workdir}/model.{fmt}"  # our own name: the local file name never reaches the device's shell
        dev.push(path, model)
        facts = device_facts(dev)
        before = temperatures(dev)
        argv = (benchmark_args if fmt == "tflite" else perf_test_args)(tool, model, proto, threads, delegate)
        proc = dev.shell(argv, timeout=opts.measure_timeout, step="benchmark")
        after = temperatures(dev)
        text = proc.stdout + "\n" + proc.stderr
        if fmt == "tflite":
            raw = benchmark_model_record(parse_benchmark_model(text), threads, proto.warmup, delegate)
        else:
            raw = perf_test_record(parse_perf_test(text), threads, 1, "nnapi" if delegate == "nnapi" else "cpu")
        raw.update(host=facts, model_bytes=path.stat().st_size, temperature_c={"before": before, "after": after},
                   command=remote_command(argv), measured_on=f"adb://{dev.serial}")
        return raw
    finally:  # also on failure and Ctrl-C
        try:
            dev.shell([Op("rm -rf"), workdir], timeout=30, step="cleanup")
        except RemoteError:
            pass


def pick_delegate(target, opts: AdbOptions) -> str | None:
    """The delegate to benchmark: --delegate, else the target's first (one at a time: mixing measures nothing)."""
    choice = opts.delegate or (target.runtime.delegates[0] if target.runtime.delegates else None)
    if choice is not None and choice not in DELEGATE_FLAGS:
        raise InputError(f"unknown delegate {choice!r}", f"benchmark_model knows {', '.join(DELEGATE_FLAGS)}",
                         "pass --delegate xnnpack, gpu or nnapi")
    return choice


def find_tool(dev: AdbDevice, fmt: str, opts: AdbOptions, workdir: str) -> str:
    given = opts.benchmark_binary if fmt == "tflite" else opts.perf_test_binary
    if given:
        tool = f"{workdir}/{'benchmark_model' if fmt == 'tflite' else 'onnxruntime_perf_test'}"
        dev.push(given, tool)
        check(dev.shell([Op("chmod 755"), tool], step="chmod"), f"making {tool} executable")
        return tool
    for candidate in BENCHMARK_CANDIDATES if fmt == "tflite" else PERF_TEST_CANDIDATES:
        if dev.shell([Op("test -x"), candidate, Op("&& echo found")], step="look").stdout.strip() == "found":
            return candidate
    if fmt == "onnx":
        raise RemoteError(f"no onnxruntime_perf_test on {dev.serial} for this .onnx model",
                          "benchmark_model runs only .tflite models",
                          "convert the model to .tflite (edgekit convert) and profile that, or pass "
                          "--perf-test-binary PATH (onnxruntime's Android build produces onnxruntime_perf_test)")
    raise RemoteError(f"no benchmark_model on {dev.serial}", f"looked for {', '.join(BENCHMARK_CANDIDATES)}",
                      "download TFLite's prebuilt android_aarch64_benchmark_model (LiteRT 'Performance "
                      "measurement' page) and pass --benchmark-binary PATH")


def benchmark_args(tool: str, model: str, proto: Protocol, threads: int, delegate: str | None) -> list[str]:
    """benchmark_model flags (tensorflow/lite/tools/benchmark/README.md). min_secs=0 / warmup_min_secs=0
    make it run exactly --num_runs / --warmup_runs, as edgekit's own protocol does (defaults add time floors)."""
    if proto.duration:
        runs = ["--num_runs=1", f"--min_secs={proto.duration:g}", f"--max_secs={proto.duration * 2 + 10:g}"]
    else:
        runs = [f"--num_runs={proto.runs}", "--min_secs=0"]
    return [tool, f"--graph={model}", f"--num_threads={threads}", f"--warmup_runs={proto.warmup}",
            "--warmup_min_secs=0", *runs, "--report_peak_memory_footprint=true",
            DELEGATE_FLAGS[delegate] if delegate else "--use_xnnpack=false"]


def perf_test_args(tool: str, model: str, proto: Protocol, threads: int, delegate: str | None) -> list[str]:
    """onnxruntime_perf_test flags (onnxruntime/test/perftest/command_args_parser.cc); -I makes its own inputs."""
    mode = ["-m", "duration", "-t", f"{max(1, round(proto.duration))}"] if proto.duration else \
        ["-m", "times", "-r", str(proto.runs)]
    return [tool, "-I", *mode, "-x", str(threads), "-e", "nnapi" if delegate == "nnapi" else "cpu", model]


def device_facts(dev: AdbDevice) -> dict:
    kv = dict(l.split("=", 1) for l in dev.shell([_FACTS], step="facts").stdout.splitlines() if "=" in l)
    mem = kv.get("memtotal", "").split()
    cores = kv.get("cores", "").strip()
    return {"arch": kv.get("abi") or None, "cpu": kv.get("soc") or kv.get("board") or None,
            "device": kv.get("model") or None, "cores": int(cores) if cores.isdigit() else None,
            "os": f"Android {kv['release']}" if kv.get("release") else "Android", "python": None,
            "ram_mb": int(mem[1]) // 1024 if len(mem) >= 2 and mem[1].isdigit() else None,
            "governor": kv.get("governor") or None}


def temperatures(dev: AdbDevice) -> dict:
    return parse_temperatures(dev.shell([TEMPS], step="temperatures").stdout)


def check(proc: subprocess.CompletedProcess, doing: str) -> None:
    if proc.returncode != 0:
        raise RemoteError(f"{doing} on the device failed", _last(proc), "check the device with adb shell")


def _last(proc: subprocess.CompletedProcess) -> str:
    lines = (proc.stderr + "\n" + proc.stdout).strip().splitlines()
    return (lines or ["no message"])[-1][:300]


KIND = register(Kind("adb", parse, AdbOptions, AdbTransport, help="adb://SERIAL or adb://"))
