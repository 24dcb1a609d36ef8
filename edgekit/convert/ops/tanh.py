"""Tanh -> TANH."""
from ._base import unary

unary("Tanh", "TANH")
