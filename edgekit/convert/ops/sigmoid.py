"""Sigmoid -> LOGISTIC."""
from ._base import unary

unary("Sigmoid", "LOGISTIC")
