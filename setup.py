# The package list is computed here because targets/ and models/ sit at the top of the repo and ship
# as edgekit._targets / edgekit._models (package-dir in pyproject.toml); setuptools' automatic
# discovery only finds real directories, so it cannot list those two.
from setuptools import find_packages, setup

setup(packages=find_packages(include=["edgekit", "edgekit.*"]) + ["edgekit._targets", "edgekit._models"])
