"""The text corpus edgekit ships: English-like sentences drawn from a small seeded grammar.

Nothing can be downloaded here, and a language model needs text with structure it can learn (so its
perplexity means something) and held-out text from the same distribution. The grammar below writes
sentences about shapes, colours, counting, sums and the weather; ``generate(n, seed)`` always returns
the same lines for the same arguments (numpy's PCG64). The text is written by this module, so it is
edgekit's own and carries edgekit's licence (Apache-2.0); no third-party text is involved.

    python -m edgekit.data.corpus --lines 4000 --seed 0 > corpus.txt
"""
from __future__ import annotations

import numpy as np

NUMBERS = ["zero", "one", "two", "three", "four", "five", "six", "seven", "eight", "nine", "ten", "eleven",
           "twelve", "thirteen", "fourteen", "fifteen", "sixteen", "seventeen", "eighteen"]
COLOURS = ["red", "green", "blue", "yellow", "black", "white", "orange", "purple"]
SHAPES = ["circle", "square", "triangle", "star", "ring", "cross"]
SIZES = ["small", "large", "tiny", "big"]
PLACES = ["on the table", "in the box", "near the door", "under the chair", "beside the lamp", "in the garden"]
NAMES = ["Ada", "Ben", "Cleo", "Dev", "Eli", "Fay", "Gus", "Hana"]
VERBS = ["draws", "finds", "paints", "moves", "counts", "hides", "keeps", "sees"]
WEATHER = ["sunny", "cloudy", "rainy", "windy", "cold", "warm", "foggy"]
DAYS = ["Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday"]


def _plural(noun: str) -> str:
    return noun + ("es" if noun.endswith(("s", "x")) else "s")


def _sentence(rng: np.random.Generator) -> str:
    pick = lambda xs: xs[int(rng.integers(len(xs)))]  # noqa: E731
    kind = int(rng.integers(6))
    if kind == 0:
        return f"the {pick(SIZES)} {pick(COLOURS)} {pick(SHAPES)} is {pick(PLACES)}."
    if kind == 1:
        n = int(rng.integers(2, 10))
        shape = pick(SHAPES)
        return f"{pick(NAMES)} {pick(VERBS)} {NUMBERS[n]} {pick(COLOURS)} {_plural(shape)} {pick(PLACES)}."
    if kind == 2:
        a, b = int(rng.integers(0, 10)), int(rng.integers(0, 9))
        return f"{NUMBERS[a]} plus {NUMBERS[b]} is {NUMBERS[a + b]}."
    if kind == 3:
        i = int(rng.integers(len(DAYS)))
        return f"on {DAYS[i]} it was {pick(WEATHER)}, and the day after {DAYS[i]} is {DAYS[(i + 1) % 7]}."
    if kind == 4:
        colour, shape = pick(COLOURS), pick(SHAPES)
        return f"{pick(NAMES)} likes the {colour} {shape}, so {pick(NAMES)} gives the {colour} {shape} away."
    start = int(rng.integers(0, 12))
    return "counting: " + " ".join(NUMBERS[start:start + int(rng.integers(3, 7))]) + "."


def generate(lines: int, seed: int = 0) -> list[str]:
    """``lines`` lines of one or two sentences each, the same for the same ``seed``."""
    rng = np.random.default_rng(seed)
    out = []
    for _ in range(lines):
        first = _sentence(rng)
        out.append(first if rng.random() < 0.5 else f"{first} {_sentence(rng)}")
    return out


def main(argv=None) -> int:
    import argparse

    ap = argparse.ArgumentParser(description="print edgekit's generated text corpus, one example per line")
    ap.add_argument("--lines", type=int, default=1000)
    ap.add_argument("--seed", type=int, default=0)
    args = ap.parse_args(argv)
    print("\n".join(generate(args.lines, args.seed)))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
