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
    others = [f for f in ("scheme", "int8", "dynamic", "fp16") if getattr(args, f, None)]
    if others:
        raise InputError(f"--{others[0]} with a KV-cache LM", "the LM converts to float prefill/decode signatures",
                         "convert first, then quantize the .tflite with edgekit quantize --scheme, or drop the flag")
    res = convert_lm(src, out, prefill=args.prefill if args.prefill is not None else 64)
    rows = [["output", str(res.output)], ["size", f"{res.size / 1e6:.2f} MB"]]
    for sig in res.ops:
        shapes = ", ".join(f"{n} {list(s)}" for n, s in res.inputs[sig].items() if not n.startswith("past_"))
        rows.append([f"{sig} signature", f"{sum(res.ops[sig].values())} ops; {shapes}; cache in/out"])
    print(table(rows, ["", "converted"]))
    return True
