"""How long a log of ``edgekit demo`` stays silent: the largest gap between two output lines.

Issue 19 asks that the demo, on a machine where another process keeps one core busy, shows progress
at least every 30 s in a non-terminal log. This runs the demo with stdout and stderr on a pipe (as
in CI or `> log`), optionally next to a busy loop, stamps every line on arrival and reports the gaps.

    python tools/demo_progress_gaps.py --busy [--write-docs] [-- --out DIR --no-distill ...]
    python tools/demo_progress_gaps.py --log STAMPED.log     # analyse a log stamped "<epoch s> ..."
"""
from __future__ import annotations

import argparse
import datetime
import os
import platform
import subprocess
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))


def run(demo_args: list[str], busy: bool) -> list[tuple[float, str]]:
    spinner = subprocess.Popen([sys.executable, "-c", "while True: pass"]) if busy else None
    try:
        proc = subprocess.Popen([sys.executable, "-m", "edgekit", "demo", *demo_args], stdout=subprocess.PIPE,
                                stderr=subprocess.STDOUT, text=True, bufsize=1)
        lines = [(time.time(), "(started)")]
        for line in proc.stdout:
            lines.append((time.time(), line.rstrip("\n")))
        lines.append((time.time(), f"(exit {proc.wait()})"))
        return lines
    finally:
        if spinner is not None:
            spinner.kill()


def read_log(path: Path) -> list[tuple[float, str]]:
    """Lines "<epoch s> <s since start> text": the start itself counts, so a silent start is a gap too."""
    out = []
    for line in path.read_text().splitlines():
        stamp, _, rest = line.partition(" ")
        try:
            t = float(stamp)
        except ValueError:
            continue
        if not out:
            since = rest.split(None, 1)[0] if rest.strip() else ""
            out.append((t - float(since) if since.replace(".", "", 1).isdigit() else t, "(started)"))
        out.append((t, rest))
    return out


def summary(lines: list[tuple[float, str]]) -> str:
    gaps = sorted(((b[0] - a[0]), b[1].strip()[:90]) for a, b in zip(lines, lines[1:]))
    total = lines[-1][0] - lines[0][0]
    top = "\n".join(f"  {g:6.1f} s before: {text}" for g, text in reversed(gaps[-3:]))
    return (f"{len(lines)} lines over {total:.0f} s; largest gap {gaps[-1][0]:.1f} s; "
            f"gaps over 30 s: {sum(g > 30 for g, _ in gaps)}\nlargest gaps:\n{top}")


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--busy", action="store_true", help="keep one core busy with a spinning process")
    ap.add_argument("--log", type=Path, default=None, help="analyse this stamped log instead of running")
    ap.add_argument("--write-docs", action="store_true", help="replace the section in docs/benchmarks.md")
    ap.add_argument("demo_args", nargs="*", help="arguments for edgekit demo (after --)")
    args = ap.parse_args()
    load_before = os.getloadavg()
    lines = read_log(args.log) if args.log else run(args.demo_args, args.busy)
    text = (f"date {datetime.date.today()}, {platform.machine()}, {os.cpu_count()} CPUs, load average "
            f"{load_before[0]:.1f} before / {os.getloadavg()[0]:.1f} after"
            + (", one extra core kept busy" if args.busy else "") + "\n"
            + f"command: edgekit demo {' '.join(args.demo_args)} 2>&1 | (stamped per line)\n" + summary(lines))
    print(text)
    if args.write_docs:
        from bench_quantize import write_docs

        write_docs("```\n" + text + "\n```", title="## Demo progress in a log")
    return 0


if __name__ == "__main__":
    sys.exit(main())
