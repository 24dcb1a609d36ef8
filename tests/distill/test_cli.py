"""The distill and demo commands: flags, and bad input as one line on stderr with exit code 2."""
from __future__ import annotations

import pytest

from edgekit.cli import build_parser, main


def test_distill_flags_parse():
    args = build_parser().parse_args(["distill", "--teacher", "t.onnx", "--student", "tiny-resnet", "--data", "d",
                                      "-o", "s.onnx", "--val", "v", "--width", "0.5", "--epochs", "3",
                                      "--temperature", "2", "--alpha", "0.5", "--batch-size", "8", "--lr", "0.01",
                                      "--seed", "4", "--no-flip", "--mean", "0.5", "--std", "0.25"])
    assert (args.width, args.epochs, args.temperature, args.alpha, args.batch_size, args.lr, args.seed) == \
        (0.5, 3, 2.0, 0.5, 8, 0.01, 4)
    assert args.no_flip and args.mean == "0.5"


def test_demo_flags_parse():
    args = build_parser().parse_args(["demo", "--out", "x", "--no-distill", "--runs", "5"])
    assert (args.out, args.no_distill, args.runs) == ("x", True, 5)


@pytest.mark.parametrize("extra,needle", [(["--epochs", "0"], "epochs must be >= 1"),
                                          (["--student", "nope"], "tiny-mobilenet, tiny-resnet"),
                                          (["--alpha", "2"], "alpha must be between 0 and 1")])
def test_bad_input_is_one_line_and_exit_2(tmp_path, capsys, extra, needle):
    argv = ["distill", "--teacher", str(tmp_path / "t.onnx"), "--student", "tiny-mobilenet", "--data", str(tmp_path),
            "-o", str(tmp_path / "s.onnx"), *extra]
    assert main(argv) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and err[0].startswith("edgekit distill: error:") and needle in err[0]
    assert not (tmp_path / "s.onnx").exists()


def test_one_class_folder_is_one_line_and_exit_2(teacher, shapes, tmp_path, capsys):
    import shutil

    one = tmp_path / "one"
    shutil.copytree(shapes / "train" / "star", one / "star")
    argv = ["distill", "--teacher", str(teacher), "--student", "tiny-mobilenet", "--data", str(one),
            "-o", str(tmp_path / "s.onnx"), "--cache-dir", str(tmp_path / "cache")]
    assert main(argv) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "has one class (star)" in err[0]
    assert not (tmp_path / "s.onnx").exists()
