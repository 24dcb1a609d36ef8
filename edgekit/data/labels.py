"""Class names a model stores, and class folders mapped onto them (issue 17 item 6).

A class folder's index used to be its position among the sorted folder names: a folder holding a
subset of the model's classes (say circle/ and square/ of ten) was scored against classes 0 and 1
and came out at 0 % instead of 97.5 %. When the model knows its class names they decide.
"""
from __future__ import annotations

import json
from pathlib import Path

from ..errors import DataError


def stored_labels(model) -> list[str] | None:
    """The class names of a loaded model: its bundle's labels.txt, else the ``edgekit.labels`` metadata
    (a JSON list, in ONNX metadata_props or TFLite metadata)."""
    bundle = getattr(model, "bundle", None)
    if bundle is not None:
        return list(bundle.labels)
    from ..metadata import LABELS, read

    try:
        text = read(model.path, LABELS) if Path(model.path).is_file() else None
    except Exception:  # the runtime already opened it; metadata that cannot be read is simply absent
        return None
    try:
        labels = json.loads(text) if text else None
    except ValueError:
        return None
    return [str(v) for v in labels] if isinstance(labels, list) and labels else None


def align_folder_labels(model, ds, n_out: int) -> bool:
    """Renumber a class-folder dataset's labels by the model's stored class names; False if it has none.

    DataError when a folder name is not one of the model's classes: scoring it would be meaningless.
    """
    from .sources import FolderDataset

    if not isinstance(ds, FolderDataset) or not ds.labeled:
        return False
    names = stored_labels(model)
    if names is None or len(names) != n_out:
        return False
    index = {name: i for i, name in enumerate(names)}
    unknown = [c for c in ds.classes if c not in index]
    if unknown:
        shown = ", ".join(names[:6]) + (", ..." if len(names) > 6 else "")
        raise DataError(f"class folder(s) {', '.join(unknown[:3])} of {ds.origin} are not classes of "
                        f"{Path(model.path).name}", f"its classes are {shown}",
                        "name each folder after one of the model's classes")
    remap = [index[c] for c in ds.classes]
    ds.files = [(path, None if label is None else remap[label]) for path, label in ds.files]
    ds.classes = list(names)
    return True
