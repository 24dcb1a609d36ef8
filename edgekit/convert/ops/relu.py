"""Relu -> RELU (fused into the producing conv/add/fc by optimize.fuse_activations)."""
from ._base import unary

unary("Relu", "RELU")
