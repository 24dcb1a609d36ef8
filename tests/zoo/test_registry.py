"""The model zoo registry: works, and fails clearly, without building anything heavy."""
from __future__ import annotations

import subprocess
import sys

import pytest

import edgekit.zoo as zoo
from edgekit.errors import DependencyError, InputError

ALL = ["mobilenet_v2", "resnet18", "efficientnet_b0", "shufflenet_v2", "tiny-mobilenet", "tiny-resnet",
       "tiny-transformer", "tiny-lm"]


def test_names_lists_the_zoo():
    assert zoo.names() == ALL


def test_import_does_not_pull_in_torch():
    code = "import sys, edgekit.zoo as z; z.names(); z.input_shape('resnet18'); print('torch' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"


def test_unknown_name_lists_the_zoo():
    with pytest.raises(InputError) as err:
        zoo.build("vgg16")
    assert "vgg16" in str(err.value) and all(n in str(err.value) for n in ALL)
    assert "\n" not in str(err.value)


def test_missing_torch_says_how_to_install(monkeypatch):
    monkeypatch.setitem(sys.modules, "torch", None)  # makes `import torch` raise ImportError
    with pytest.raises(DependencyError, match=r"pip install 'edgekit\[distill\]'"):
        zoo.build("tiny-resnet")


@pytest.mark.parametrize("kwargs", [{"width": 0}, {"num_classes": 0}, {"input_size": 8}])
def test_bad_build_arguments(kwargs):
    with pytest.raises(InputError):
        zoo.build("tiny-mobilenet", **kwargs)


