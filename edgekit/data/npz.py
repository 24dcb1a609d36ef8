"""Read a .npz without loading it: members numpy.savez stored uncompressed are memory-mapped.

``np.load`` of a .npz reads each member whole on access (its ``mmap_mode`` applies to .npy only), so a
calibration set saved with numpy.savez would sit in memory at once. A stored (not deflated) zip member
is the .npy file's bytes at a fixed offset, so it can be mapped like a .npy. Members written by
numpy.savez_compressed are deflate streams and are read whole.
"""
from __future__ import annotations

import struct
import zipfile
from pathlib import Path

import numpy as np

_LOCAL_HEADER = 30  # zip local file header: fixed part; name and extra field follow (APPNOTE.TXT 4.3.7)


def load_npz(path: Path) -> dict:
    """Every array of ``path`` by name (".npy" dropped), mapped where the member is stored uncompressed."""
    out = {}
    with zipfile.ZipFile(path) as zf, open(path, "rb") as fh:
        for info in zf.infolist():
            name = info.filename[:-4] if info.filename.endswith(".npy") else info.filename
            mapped = _map(fh, path, info) if info.compress_type == zipfile.ZIP_STORED else None
            if mapped is None:
                with zf.open(info) as member:
                    mapped = np.lib.format.read_array(member, allow_pickle=False)
            out[name] = mapped
    return out


def _map(fh, path: Path, info: zipfile.ZipInfo):
    fh.seek(info.header_offset)
    local = fh.read(_LOCAL_HEADER)
    if len(local) < _LOCAL_HEADER:
        raise ValueError(f"{info.filename}: the zip entry points past the end of the file")
    name_len, extra_len = struct.unpack("<HH", local[26:30])
    fh.seek(info.header_offset + _LOCAL_HEADER + name_len + extra_len)
    major, _ = np.lib.format.read_magic(fh)
    read_header = np.lib.format.read_array_header_1_0 if major == 1 else np.lib.format.read_array_header_2_0
    shape, fortran, dtype = read_header(fh)
    if dtype.hasobject:
        raise ValueError(f"{info.filename} holds Python objects, which edgekit does not unpickle")
    if not int(np.prod(shape)):
        return None  # an empty array cannot be mapped; reading it costs nothing
    return np.memmap(path, dtype=dtype, mode="r", offset=fh.tell(), shape=shape, order="F" if fortran else "C")
