"""Resource bounds checked before allocating: declared sizes, decoded pixels, class labels (issue 17).

A model input of 1x3x100000x100000, a bundle preprocessing size of 100000x100000 or an .npz label of
10^9 used to be allocated as declared and took the machine down. Each is now compared with a bound
first and refused in one line. Thread counts have their bound in ``edgekit.runtime.device`` (the
device runner must stand alone). Standard library only.
"""
from __future__ import annotations

from .errors import DataError, InputError

MAX_PIXELS = 1 << 27  # ~134 megapixels (11,585 x 11,585): decoded with downscaling; pillow's own bomb
#                       check warns at 89 MP and fails at 179 MP, so this is the explicit limit in between
MAX_SIDE = 1 << 15  # preprocessing sizes: no camera or model input is 32,768 pixels on a side
MAX_CLASSES = 1 << 16  # class indices 0..65,535 (ImageNet-21k has 21,841): beyond is a corrupt file
_FALLBACK_BYTES = 4 << 30  # when the available memory cannot be read (not Linux)


def calm_thread_pools() -> None:
    """OpenMP threads (torch's intra-op pool) sleep when idle instead of spinning; call before torch loads.

    libgomp's default active wait made a 2-thread training step 25x slower in wall time (and 13x in
    CPU time) on a 2-core host with other jobs running: a waiting thread spins on the core its partner
    needs (docs/benchmarks.md, "CPU contention"). The variable is read once, when torch loads libgomp;
    a user's own setting wins.
    """
    import os

    os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")


def available_bytes() -> int:
    """Memory this process can still take: MemAvailable on Linux (also inside cgroup-less containers)."""
    try:
        with open("/proc/meminfo") as fh:
            for line in fh:
                if line.startswith("MemAvailable:"):
                    return int(line.split()[1]) * 1024
    except (OSError, ValueError, IndexError):
        pass
    return _FALLBACK_BYTES


def check_bytes(shape, itemsize: int, what: str, fix: str, share: float = 0.5) -> int:
    """The bytes of a ``shape`` array; InputError when they exceed ``share`` of the available memory.

    Called before the allocation, so the refusal costs nothing. Half the free memory is the default
    share: a tensor usually exists twice (the decoded image and the model input, or input and copy).
    """
    n = int(itemsize)
    for d in shape:
        n *= max(int(d), 1)
    budget = int(available_bytes() * share)
    if n > budget:
        dims = "x".join(str(int(d)) for d in shape)
        raise InputError(f"{what} of {dims} needs {_gb(n)}", f"only {_gb(budget)} may be used here "
                         f"({share:.0%} of the {_gb(available_bytes())} available)", fix)
    return n


def _gb(n: int) -> str:
    return f"{n / 2**30:.1f} GB" if n >= 2**30 else f"{n / 2**20:.0f} MB"


def check_labels(labels, where: str):
    """``labels`` as a 1-D int64 array of class indices 0..MAX_CLASSES-1; DataError otherwise.

    Class lists are built as range(max + 1), so one label of 10^9 allocated a billion names; NaN,
    strings or a 2-D array ended in a traceback.
    """
    import numpy as np

    arr = np.asarray(labels)
    fix = "store labels as one small non-negative integer per sample (np.int64)"
    if arr.ndim != 1:
        raise DataError(f"{where}: labels have shape {list(arr.shape)}", "expected one label per sample (1-D)", fix)
    if arr.dtype.kind == "f" and arr.size and np.isfinite(arr).all() and (arr == np.round(arr)).all():
        arr = arr.astype(np.int64)  # 3.0 is class 3; 2.5, NaN and inf are not classes
    if arr.dtype.kind not in "iub":
        raise DataError(f"{where}: labels have dtype {arr.dtype}", "class indices are whole numbers", fix)
    if arr.size and (int(arr.min()) < 0 or int(arr.max()) >= MAX_CLASSES):
        bad = int(arr.min()) if int(arr.min()) < 0 else int(arr.max())
        raise DataError(f"{where}: label {bad} is not a class index", f"labels must be 0..{MAX_CLASSES - 1}", fix)
    return arr.astype(np.int64)

