"""Inputs for tools/fuzz.py: a small corpus of valid files and one mutation per case.

Mutations: byte flips, truncations, appended garbage, empty files; ONNX structure (element types,
huge/zero/negative dims, missing initializers, huge attributes, bogus opsets and IR versions, dropped
outputs/nodes, truncated raw data, swapped and undefined node inputs, unknown op types); TFLite
structure (shapes, types, buffer and tensor indices, operator codes, quantization); data (.npy shapes,
dtypes, NaN, pickled objects, headers); bundles (manifest types, keys, nesting, sizes; model bytes);
target files (negative, NaN and huge numbers, strings, deep arrays).
"""
from __future__ import annotations

import json
import shutil
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

HUGE_DIMS = (0, -1, -7, 2**31 + 1, 2**40, 10**6, 1)
BOGUS_OPSETS = (0, 1, 2, 5, 99, 10**9, -3)
BOGUS_IR = (0, 1, 2, 99, 999, -1)
OP_TYPES = ("Conv", "Relu", "Gemm", "Reshape", "Gather", "NoSuchOp", "Loop", "If", "Einsum", "Softmax")


@dataclass
class Case:
    dir: Path
    request: dict
    inputs: list
    outputs: list = field(default_factory=list)
    mutation: str = ""
    invalid: bool = False  # onnx.checker (full_check) or the TFLite structural check rejects the model


# ----------------------------------------------------------------------------- corpus
def build_corpus(root: Path) -> dict:
    """Valid small models (ONNX and their TFLite conversions), data, a bundle and a target file."""
    import onnx
    from onnx import TensorProto as T, helper, numpy_helper

    root.mkdir(parents=True, exist_ok=True)
    done = root / "ready"
    files = {"fc": root / "fc.onnx", "conv": root / "conv.onnx", "fc_t": root / "fc.tflite",
             "conv_t": root / "conv.tflite", "data": root / "data.npy", "bundle": root / "bundle",
             "target": root / "target.toml"}
    if done.exists():
        return files
    rng = np.random.default_rng(0)

    def save(nodes, inputs, outputs, inits, path):
        g = helper.make_graph(nodes, "g", inputs, outputs, inits)
        m = helper.make_model(g, opset_imports=[helper.make_opsetid("", 13)], ir_version=8)
        onnx.checker.check_model(m, full_check=True)
        onnx.save(m, str(path))

    w = numpy_helper.from_array(rng.standard_normal((10, 16)).astype(np.float32), "w")
    b = numpy_helper.from_array(np.zeros(10, np.float32), "b")
    save([helper.make_node("Gemm", ["x", "w", "b"], ["h"], transB=1, name="fc"),
          helper.make_node("Relu", ["h"], ["y"], name="act")],
         [helper.make_tensor_value_info("x", T.FLOAT, [1, 16])], [helper.make_tensor_value_info("y", T.FLOAT, [1, 10])],
         [w, b], files["fc"])
    cw = numpy_helper.from_array(rng.standard_normal((4, 3, 3, 3)).astype(np.float32), "cw")
    shape = numpy_helper.from_array(np.array([1, 4], np.int64), "shape")
    fw = numpy_helper.from_array(rng.standard_normal((4, 5)).astype(np.float32), "fw")
    save([helper.make_node("Conv", ["x", "cw"], ["c"], pads=[1, 1, 1, 1], name="conv"),
          helper.make_node("Relu", ["c"], ["r"], name="relu"),
          helper.make_node("GlobalAveragePool", ["r"], ["p"], name="gap"),
          helper.make_node("Reshape", ["p", "shape"], ["f"], name="flat"),
          helper.make_node("MatMul", ["f", "fw"], ["y"], name="head")],
         [helper.make_tensor_value_info("x", T.FLOAT, [1, 3, 8, 8])], [helper.make_tensor_value_info("y", T.FLOAT, [1, 5])],
         [cw, shape, fw], files["conv"])
    import edgekit

    edgekit.convert(files["fc"], files["fc_t"])
    edgekit.convert(files["conv"], files["conv_t"])
    np.save(files["data"], rng.standard_normal((6, 3, 8, 8)).astype(np.float32))
    from edgekit.targets import host_target, targets_dir

    host = host_target().name
    shutil.copy(targets_dir() / f"{host}.toml", files["target"])
    edgekit.bundle([files["conv_t"]], files["bundle"], target=host)
    done.write_text("ok")
    return files


# ----------------------------------------------------------------------------- byte mutations
def bytes_mutation(data: bytes, rng) -> tuple[bytes, str]:
    kind = rng.choice(["flip", "flip", "flip", "truncate", "append", "empty", "zero_run"])
    buf = bytearray(data)
    if kind == "flip" and buf:
        n = rng.choice([1, 2, 4, 8, 32])
        for _ in range(n):
            buf[rng.randrange(len(buf))] = rng.randrange(256)
        return bytes(buf), f"bytes:flip{n}"
    if kind == "truncate":
        return bytes(buf[:rng.randrange(len(buf) + 1)]), "bytes:truncate"
    if kind == "append":
        return bytes(buf) + bytes(rng.randrange(256) for _ in range(rng.choice([1, 16, 4096]))), "bytes:append"
    if kind == "zero_run" and buf:
        at = rng.randrange(len(buf))
        buf[at:at + rng.choice([4, 64, 512])] = b"\0" * len(buf[at:at + 1])  # shortens the file by the run
        return bytes(buf), "bytes:zero_run"
    return b"", "bytes:empty"


# ----------------------------------------------------------------------------- ONNX structure
def onnx_mutation(path: Path, rng):
    import onnx
    from onnx import helper

    m = onnx.load(str(path))
    g = m.graph
    kinds = ["dtype_init", "dims_init", "drop_init", "huge_attr", "attr_value", "opset", "ir", "input_elem",
             "input_dims", "drop_outputs", "drop_nodes", "raw_truncate", "swap_inputs", "undefined_input",
             "op_type", "dup_output", "metadata"]
    kind = rng.choice(kinds)
    if kind == "dtype_init" and g.initializer:
        rng.choice(g.initializer).data_type = rng.choice([0, 2, 3, 6, 7, 8, 10, 11, 16, 17, 23, 40, 77])
    elif kind == "dims_init" and g.initializer:
        t = rng.choice(g.initializer)
        if t.dims:
            t.dims[rng.randrange(len(t.dims))] = rng.choice(HUGE_DIMS)
    elif kind == "drop_init" and g.initializer:
        g.initializer.remove(rng.choice(g.initializer))
    elif kind == "huge_attr":
        node = rng.choice(g.node)
        name = rng.choice(["pads", "strides", "kernel_shape", "dilations", "perm", "axes", "group", "axis", "alpha"])
        value = rng.choice([[2**62] * 4, list(range(10**5)), 10**12, -(2**40), 0, [0, 0], [-5] * 4])
        for a in [a for a in node.attribute if a.name == name]:
            node.attribute.remove(a)
        node.attribute.append(helper.make_attribute(name, value))
    elif kind == "attr_value":
        node = rng.choice(g.node)
        if node.attribute:
            a = rng.choice(node.attribute)
            if a.ints:
                a.ints[rng.randrange(len(a.ints))] = rng.choice([-1, 0, 2**31, -(2**31), 10**6])
            else:
                a.i = rng.choice([-1, 0, 2**31, 10**6])
    elif kind == "opset":
        m.opset_import[0].version = rng.choice(BOGUS_OPSETS)
    elif kind == "ir":
        m.ir_version = rng.choice(BOGUS_IR)
    elif kind == "input_elem":
        g.input[0].type.tensor_type.elem_type = rng.choice([0, 2, 7, 8, 9, 11, 16, 40])
    elif kind == "input_dims":
        dims = g.input[0].type.tensor_type.shape.dim
        dims[rng.randrange(len(dims))].dim_value = rng.choice([0, 10**5, 2**31 + 1, 2**40, 10**9])
    elif kind == "drop_outputs":
        del g.output[:]
    elif kind == "drop_nodes":
        del g.node[rng.randrange(len(g.node)):]
    elif kind == "raw_truncate" and g.initializer:
        t = rng.choice(g.initializer)
        if t.raw_data:
            t.raw_data = t.raw_data[:rng.randrange(len(t.raw_data))]
    elif kind == "swap_inputs":
        node = rng.choice(g.node)
        ins = list(node.input)
        rng.shuffle(ins)
        del node.input[:]
        node.input.extend(ins)
    elif kind == "undefined_input":
        node = rng.choice(g.node)
        node.input[rng.randrange(len(node.input))] = "nowhere"
    elif kind == "op_type":
        rng.choice(g.node).op_type = rng.choice(OP_TYPES)
    elif kind == "dup_output":
        g.node[0].output[0] = g.node[-1].output[0]
    elif kind == "metadata":
        p = m.metadata_props.add()
        p.key, p.value = "edgekit.preprocess", rng.choice(["{", "[]", '{"mean": "x"}', '{"size": [100000, 100000]}',
                                                           "null", '{"layout": 5}', "\u2603" * 10])
    data = m.SerializeToString()
    return data, f"onnx:{kind}"


def onnx_invalid(path: Path) -> bool:
    """The fuzzer's oracle: onnx's own checker with full (strict) shape inference."""
    import onnx

    try:
        m = onnx.load(str(path))
        onnx.checker.check_model(m, full_check=True)
        return False
    except Exception:  # noqa: BLE001
        return True


# ----------------------------------------------------------------------------- TFLite structure
def tflite_mutation(data: bytes, rng):
    import flatbuffers
    from ai_edge_litert import schema_py_generated as fb

    m = fb.ModelT.InitFromObj(fb.Model.GetRootAsModel(data, 0))
    sub = m.subgraphs[0]
    kind = rng.choice(["shape", "type", "buffer", "opcode", "op_inputs", "quant", "outputs", "version"])
    t = rng.choice(sub.tensors)
    if kind == "shape":
        dims = (0, -1, -7, 2**31 - 1, 10**6, 3, 2**20)  # a TFLite shape is int32
        t.shape = np.array([rng.choice(dims) for _ in range(rng.choice([1, 2, 4, 9]))], np.int32)
    elif kind == "type":
        t.type = rng.choice([1, 2, 3, 5, 7, 9, 11, 13, 17, 30])
    elif kind == "buffer":
        t.buffer = rng.choice([0, len(m.buffers) - 1, len(m.buffers), 10**6])
    elif kind == "opcode":
        code = rng.choice(m.operatorCodes)
        code.builtinCode = rng.choice([0, 3, 9, 32, 100, 150, 209, 300, 10**6])
        code.deprecatedBuiltinCode = min(code.builtinCode, 127)
    elif kind == "op_inputs":
        op = rng.choice(sub.operators)
        op.inputs = [rng.choice([-1, 0, len(sub.tensors) - 1, len(sub.tensors), 10**6]) for _ in op.inputs]
    elif kind == "quant" and t.quantization is not None:
        t.quantization.scale = np.array([rng.choice([0.0, -1.0, np.nan, 1e30])] * rng.choice([1, 2, 7]), np.float32)
    elif kind == "outputs":
        sub.outputs = [rng.choice([0, len(sub.tensors) - 1, len(sub.tensors)])] * rng.choice([0, 1, 3])
    elif kind == "version":
        m.version = rng.choice([0, 2, 4, 99])
    b = flatbuffers.Builder(1024)
    b.Finish(m.Pack(b), file_identifier=b"TFL3")
    return bytes(b.Output()), f"tflite:{kind}"


def tflite_invalid(path: Path) -> bool:
    from edgekit.runtime.tflite_verify import TfliteFormatError, verify

    data = path.read_bytes()
    try:
        verify(data)
        return False
    except TfliteFormatError:
        return True


# ----------------------------------------------------------------------------- models, data, bundles, targets
def mutant_model(src: Path, dst: Path, rng) -> tuple[str, bool]:
    data = src.read_bytes()
    if src.suffix == ".onnx" and rng.random() < 0.6:
        out, what = onnx_mutation(src, rng)
    elif src.suffix == ".tflite" and rng.random() < 0.5:
        out, what = tflite_mutation(data, rng)
    else:
        out, what = bytes_mutation(data, rng)
    dst.write_bytes(out)
    invalid = (onnx_invalid(dst) if dst.suffix == ".onnx" else tflite_invalid(dst)) if out else True
    return what, invalid


def mutant_data(src: Path, dst: Path, rng) -> str:
    kind = rng.choice(["shape", "dtype", "nan", "object", "bytes", "scalar", "empty", "huge_header"])
    x = np.load(src)
    if kind == "shape":
        np.save(dst, np.zeros(rng.choice([(6, 3, 9, 9), (6, 4), (0, 3, 8, 8), (6, 3, 8, 8, 1)]), np.float32))
    elif kind == "dtype":
        np.save(dst, x.astype(rng.choice([np.int64, np.complex64, np.bool_, np.float16, np.uint8])))
    elif kind == "nan":
        y = x.copy()
        y.flat[::3] = rng.choice([np.nan, np.inf, -np.inf, 1e38])
        np.save(dst, y)
    elif kind == "object":
        np.save(dst, np.array([{"a": 1}, None], dtype=object), allow_pickle=True)
    elif kind == "scalar":
        np.save(dst, np.float32(3.0))
    elif kind == "empty":
        dst.write_bytes(b"")
    elif kind == "huge_header":
        raw = dst.parent.joinpath("tmp.npy")
        np.save(raw, x)
        data = raw.read_bytes().replace(b"(6, 3, 8, 8)", b"(9999999999, 3, 8, 8)")
        raw.unlink()
        dst.write_bytes(data)
    else:
        out, _ = bytes_mutation(src.read_bytes(), rng)
        dst.write_bytes(out)
    return f"data:{kind}"


def _json_mutation(obj, rng, depth=0):
    """One random edit somewhere in a JSON value."""
    if isinstance(obj, dict) and obj and rng.random() < 0.7:
        key = rng.choice(sorted(obj))
        action = rng.choice(["descend", "delete", "retype", "add"])
        if action == "descend" and isinstance(obj[key], (dict, list)):
            _json_mutation(obj[key], rng, depth + 1)
        elif action == "delete":
            del obj[key]
        elif action == "add":
            obj[rng.choice(["threads", "size", "x" * 50, "preprocess", "labels"])] = rng.choice([10**6, -1, "s", None])
        else:
            obj[key] = rng.choice([None, -1, 10**6, 1e308, "text", [], {}, [[[]]], True, 2**70, "../../etc/passwd"])
    elif isinstance(obj, list) and obj:
        i = rng.randrange(len(obj))
        if isinstance(obj[i], (dict, list)):
            _json_mutation(obj[i], rng, depth + 1)
        else:
            obj[i] = rng.choice([None, -1, 10**9, "x", {}])


def mutant_bundle(src: Path, dst: Path, rng) -> str:
    shutil.copytree(src, dst)
    manifest = dst / "edgekit.json"
    kind = rng.choice(["json", "json", "json", "deep", "manifest_bytes", "model_bytes", "labels", "threads", "size"])
    if kind == "json":
        obj = json.loads(manifest.read_text())
        for _ in range(rng.choice([1, 2, 3])):
            _json_mutation(obj, rng)
        manifest.write_text(json.dumps(obj))
    elif kind == "deep":
        manifest.write_text("[" * rng.choice([1000, 100_000]) + "]" * 3)
    elif kind == "manifest_bytes":
        out, _ = bytes_mutation(manifest.read_bytes(), rng)
        manifest.write_bytes(out)
    elif kind == "model_bytes":
        model = next(p for p in dst.iterdir() if p.suffix in (".tflite", ".onnx"))
        out, _ = bytes_mutation(model.read_bytes(), rng)
        model.write_bytes(out)
    elif kind == "labels":
        (dst / "labels.txt").write_bytes(rng.choice([b"\xff\xfe\x00bad", b"", b"a\n" * 100000]))
    else:
        text = manifest.read_text()
        obj = json.loads(text)
        target = obj.get("target") if isinstance(obj.get("target"), dict) else obj
        if kind == "threads":
            target["threads"] = rng.choice([10**6, 0, -4, 2.5, "8"])
        else:
            for m in obj.get("models", []) if isinstance(obj.get("models"), list) else []:
                if isinstance(m, dict) and isinstance(m.get("preprocess"), dict):
                    m["preprocess"]["size"] = rng.choice([[100000, 100000], [0, 0], [-1, 5], "big"])
        manifest.write_text(json.dumps(obj))
    return f"bundle:{kind}"


def mutant_target(src: Path, dst: Path, rng) -> str:
    lines = src.read_text().splitlines()
    kind = rng.choice(["number", "number", "string", "deep", "bytes", "drop"])
    numeric = [i for i, line in enumerate(lines) if "=" in line and line.split("=", 1)[1].strip()[:1].isdigit()]
    if kind in ("number", "string") and numeric:
        i = rng.choice(numeric)
        value = rng.choice(["-512", "nan", "inf", "1e400", "2000", "0", "99999999999999999999"]) if kind == "number" \
            else rng.choice(['"four"', "[1, 2]", "{a = 1}", "true"])
        lines[i] = lines[i].split("=", 1)[0] + "= " + value
    elif kind == "deep":
        lines.append("deep = " + "[" * rng.choice([100, 5000]) + "]" * rng.choice([100, 5000]))
    elif kind == "drop" and lines:
        del lines[rng.randrange(len(lines))]
    else:
        out, _ = bytes_mutation(src.read_bytes(), rng)
        dst.write_bytes(out)
        return "target:bytes"
    dst.write_text("\n".join(lines) + "\n")
    return f"target:{kind}"


# ----------------------------------------------------------------------------- cases
def make_case(command: str, rng, corpus: dict, d: Path) -> Case:
    fmt = rng.choice(["onnx", "tflite"]) if command in ("load", "profile", "eval") else "onnx"
    kind = "conv" if command == "eval" else rng.choice(["fc", "conv"])  # eval's data is conv's
    base = corpus[kind + ("_t" if fmt == "tflite" else "")]
    model = d / f"m.{fmt}"
    if command in ("bundle", "targets"):
        return _case_bundle(d, corpus, rng) if command == "bundle" else _case_target(d, corpus, rng)
    mutate_data = command in ("eval",) and rng.random() < 0.3
    if mutate_data:
        shutil.copy(base, model)
        what, invalid = "none", False
    else:
        what, invalid = mutant_model(base, model, rng)
    inputs = [model]
    out = d / ("out.tflite" if command == "convert" else "out.onnx")
    if command == "load":
        req = {"kind": "api", "path": str(model)}
    elif command == "profile":
        req = {"kind": "cli", "argv": ["profile", str(model), "--runs", "2", "--warmup", "0"]}
    elif command == "convert":
        req = {"kind": "cli", "argv": ["convert", str(model), "-o", str(out)]}
    elif command == "quantize":
        req = {"kind": "cli", "argv": ["quantize", str(model), "--mode", "dynamic", "-o", str(out)]}
    else:  # eval against the valid model it came from
        data = d / "data.npy"
        what = (mutant_data(corpus["data"], data, rng) if mutate_data else what)
        if not mutate_data:
            shutil.copy(corpus["data"], data)
        ref = d / f"ref{base.suffix}"
        shutil.copy(base, ref)
        inputs += [data, ref]
        req = {"kind": "cli", "argv": ["eval", str(model), "--data", str(data), "--reference", str(ref)]}
    req["cwd"] = str(d)
    return Case(d, req, inputs, [out] if command in ("convert", "quantize") else [], what, invalid)


def _case_bundle(d: Path, corpus: dict, rng) -> Case:
    b = d / "bundle"
    what = mutant_bundle(corpus["bundle"], b, rng)
    if rng.random() < 0.5:
        req = {"kind": "api", "path": str(b)}
    else:
        req = {"kind": "cli", "argv": ["profile", str(b), "--runs", "2", "--warmup", "0"]}
    req["cwd"] = str(d)
    return Case(d, req, [b], [], what, False)


def _case_target(d: Path, corpus: dict, rng) -> Case:
    t = d / "t.toml"
    what = mutant_target(corpus["target"], t, rng)
    model = d / "m.tflite"
    shutil.copy(corpus["fc_t"], model)
    req = {"kind": "cli", "argv": ["profile", str(model), "--target", str(t), "--runs", "2", "--warmup", "0"],
           "cwd": str(d)}
    return Case(d, req, [t, model], [], what, False)
