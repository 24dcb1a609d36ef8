"""Calibration and evaluation data: preprocessing specs, image decoding, streamed sources.

Importing this package needs only numpy; pillow is imported when an image is decoded, onnx when a
spec is read from or written into a model.
"""
from __future__ import annotations

from .args import add_preprocess_args, spec_from_args
from .image import open_image, preprocess_image
from .sources import ArrayDataset, Dataset, FolderDataset, InputSpec, IterableDataset, check_sample, open_source
from .spec import (METADATA_KEY, PRESETS, Color, Layout, PreprocessSpec, imagenet, load_spec_file, read_spec,
                   spec_for_input, write_spec)

__all__ = ["PreprocessSpec", "Color", "Layout", "imagenet", "PRESETS", "spec_for_input", "METADATA_KEY",
           "read_spec", "write_spec", "load_spec_file", "add_preprocess_args", "spec_from_args",
           "preprocess_image", "open_image", "open_source", "Dataset", "FolderDataset", "ArrayDataset",
           "IterableDataset", "InputSpec", "check_sample"]
