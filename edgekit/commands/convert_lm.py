"""``edgekit convert LM.onnx -o LM.tflite [--prefill N]``: a static-cache LM as prefill + decode signatures."""
from __future__ import annotations


def maybe_convert_lm(args, src, out) -> bool:
    """Convert and print when ``src`` is a static-cache LM; False (nothing done) for any other model."""
    from ..convert.signatures import convert_lm, is_static_lm
    from ..errors import InputError
    from ..ui import table

    if not src.is_file() or src.suffix.lower() != ".onnx" or not is_static_lm(src):
        if args.prefill is not None:
            raise InputError("--prefill applies to KV-cache language models", f"{src.name} has no static cache "
                             "(input_ids, cache_position, past_key_values.*)", "drop --prefill")
        return False
    scheme = getattr(args, "scheme", None) or ("w8-dynamic" if getattr(args, "dynamic", False) else None)
    others = [f for f in ("int8", "fp16", "calib") if getattr(args, f, None)]
    if others:
        raise InputError(f"--{others[0]} with a KV-cache LM", "its prefill and decode signatures take weight-only "
                         "or dynamic schemes", "use --scheme w8-dynamic or --scheme w4, or drop the flag")
    res = convert_lm(src, out, prefill=args.prefill if args.prefill is not None else 64, scheme=scheme)
    rows = [["output", str(res.output)], ["size", f"{res.size / 1e6:.2f} MB"], ["scheme", scheme or "float"]]
    for sig in res.ops:
        shapes = ", ".join(f"{n} {list(s)}" for n, s in res.inputs[sig].items() if not n.startswith("past_"))
        rows.append([f"{sig} signature", f"{sum(res.ops[sig].values())} ops; {shapes}; cache in/out"])
    print(table(rows, ["", "converted"]))
    return True
