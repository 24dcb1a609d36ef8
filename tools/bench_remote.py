#!/usr/bin/env python3
"""Remote profiling against the host: same protocol, and what the transport costs.

    python tools/bench_remote.py --remote ssh://mypi [--ssh-config F] [--identity F] [--remote-python P]
                                 [--model M.onnx|.tflite] [--target T] [--rounds 5] [--runs 200]

Alternates ``edgekit.profile`` on this host and over ``--remote`` (rounds interleaved, so drift and
neighbours' load hit both alike) and prints, per round and as medians: p50 on each side, their ratio,
and the wall time of one whole profile call on each side; the difference is the transport's cost
(connect, probe, copy, cleanup). Pointed at this machine (an sshd on 127.0.0.1) the p50 ratio checks that
the remote path measures like the host path; pointed at a board it is the board/host speed ratio.
Without --model a matmul stack (8 layers of FxF, F = --features, float) is built with onnx.helper.
"""
from __future__ import annotations

import argparse
import datetime
import os
import platform
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import edgekit  # noqa: E402
from edgekit.ui import table  # noqa: E402


def matmul_stack(path: Path, features: int = 256, layers: int = 8) -> Path:
    import numpy as np
    import onnx
    from onnx import TensorProto, helper, numpy_helper

    rng = np.random.default_rng(0)
    nodes, inits, x = [], [], "x"
    for i in range(layers):
        inits.append(numpy_helper.from_array(rng.standard_normal((features, features)).astype(np.float32) * 0.05,
                                             f"w{i}"))
        nodes += [helper.make_node("MatMul", [x, f"w{i}"], [f"m{i}"]), helper.make_node("Relu", [f"m{i}"], [f"r{i}"])]
        x = f"r{i}"
    graph = helper.make_graph(nodes, "stack", [helper.make_tensor_value_info("x", TensorProto.FLOAT, [1, features])],
                              [helper.make_tensor_value_info(x, TensorProto.FLOAT, [1, features])], initializer=inits)
    onnx.save(helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)], ir_version=10), str(path))
    return path


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--remote", required=True)
    ap.add_argument("--ssh-config")
    ap.add_argument("--identity")
    ap.add_argument("--remote-python")
    ap.add_argument("--model")
    ap.add_argument("--target", default=None, help="default: this host's target (threads from it)")
    ap.add_argument("--rounds", type=int, default=5)
    ap.add_argument("--runs", type=int, default=200)
    ap.add_argument("--features", type=int, default=256, help="width of the built matmul stack")
    args = ap.parse_args()
    model = Path(args.model) if args.model else matmul_stack(Path(tempfile.mkdtemp()) / "stack.onnx", args.features)
    opts = {k: v for k, v in (("ssh_config", args.ssh_config), ("identity", args.identity),
                              ("remote_python", args.remote_python)) if v}
    rows, ratios, host_wall, remote_wall = [], [], [], []
    for i in range(args.rounds):
        order = ("host", "remote") if i % 2 == 0 else ("remote", "host")
        got = {}
        for side in order:
            t0 = time.perf_counter()
            rec = edgekit.profile(model, args.target, warmup=20, runs=args.runs, on_host=True,
                                  **({"remote": args.remote, **opts} if side == "remote" else {}))
            got[side] = (rec.latency_ms.p50, time.perf_counter() - t0)
        ratios.append(got["remote"][0] / got["host"][0])
        host_wall.append(got["host"][1])
        remote_wall.append(got["remote"][1])
        rows.append([i + 1, got["host"][0], got["remote"][0], ratios[-1], got["host"][1], got["remote"][1]])
    med = statistics.median
    rows.append(["median", med(r[1] for r in rows), med(r[2] for r in rows), med(ratios), med(host_wall),
                 med(remote_wall)])
    print(f"date: {datetime.datetime.now(datetime.timezone.utc):%Y-%m-%d %H:%M} UTC")
    print(f"machine: {platform.processor() or platform.machine()}, {os.cpu_count()} cores, {platform.platform()}, "
          f"load average {os.getloadavg()[0]:.1f}")
    print("command: python tools/bench_remote.py " + " ".join(sys.argv[1:]))
    print(f"model: {model.name} ({model.stat().st_size / 1e6:.2f} MB), {args.runs} timed runs per profile\n")
    print(table(rows, ["round", "host p50 ms", "remote p50 ms", "remote/host", "host wall s", "remote wall s"]))
    print(f"\ntransport cost per profile call (median remote wall - host wall): {med(remote_wall) - med(host_wall):.2f} s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
