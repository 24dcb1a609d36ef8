"""Test-suite root. Its presence puts tests/ on sys.path (pytest's default "prepend" import mode), so
test modules anywhere below can use the shared model builders in ``tests/helpers``.
"""
