"""The lock file (`requirements/lock.txt`, refreshed by `make lock`): it pins every dependency
pyproject.toml names, core and every extra, at a version pyproject's range accepts, and
`make venv`, the images and CI install with it as constraints."""

from __future__ import annotations

import re
import tomllib
from pathlib import Path

import pytest
from packaging.markers import Marker
from packaging.requirements import Requirement
from packaging.utils import canonicalize_name
from packaging.version import Version

from tests.support.paths import REPO

LOCK = REPO / "requirements" / "lock.txt"
# The interpreters the lock is resolved for (`uv pip compile --universal`): the image's and
# CI's 3.11, and a newer one, for which some packages carry other pins behind markers.
PYTHONS = ("3.11", "3.12", "3.13")


def locked(text: str) -> dict[str, list[tuple[Version, Marker | None]]]:
    """Each locked package's pinned versions (one per marker), from the lock file's text."""
    pins: dict[str, list[tuple[Version, Marker | None]]] = {}
    for number, line in enumerate(text.splitlines(), start=1):
        line = line.split("#", 1)[0].strip()
        if not line:
            continue
        requirement = Requirement(line)
        (spec,) = requirement.specifier  # exactly one pin, or the lock is not a lock
        assert spec.operator == "==", f"lock line {number} is not pinned: {line}"
        pins.setdefault(canonicalize_name(requirement.name), []).append(
            (Version(spec.version), requirement.marker))
    return pins


def declared() -> list[Requirement]:
    """Every requirement pyproject.toml names: core and each extra (not homeprice itself)."""
    project = tomllib.loads((REPO / "pyproject.toml").read_text())["project"]
    texts = list(project["dependencies"])
    for requirements in project["optional-dependencies"].values():
        texts += requirements
    return [requirement for requirement in map(Requirement, texts)
            if canonicalize_name(requirement.name) != project["name"]]


def pin_for(pins: list[tuple[Version, Marker | None]], python: str) -> Version | None:
    """The version the lock installs on Linux CPython `python` (None: not installed there)."""
    environment = {"python_version": python, "python_full_version": f"{python}.0",
                   "sys_platform": "linux", "platform_system": "Linux",
                   "implementation_name": "cpython", "platform_python_implementation":
                   "CPython", "os_name": "posix", "platform_machine": "x86_64"}
    chosen = [version for version, marker in pins
              if marker is None or marker.evaluate(environment)]
    assert len(chosen) <= 1, f"two pins apply on Python {python}: {chosen}"
    return chosen[0] if chosen else None


def test_the_lock_pins_every_declared_dependency_within_its_range() -> None:
    pins = locked(LOCK.read_text())
    problems = []
    for requirement in declared():
        name = canonicalize_name(requirement.name)
        if name not in pins:
            problems.append(f"{requirement} is not in the lock")
            continue
        for python in PYTHONS:
            version = pin_for(pins[name], python)
            if version is None:
                problems.append(f"{name} is not locked for Python {python}")
            elif not requirement.specifier.contains(version, prereleases=True):
                problems.append(f"{name}=={version} (Python {python}) is outside "
                                f"pyproject's {requirement.specifier}")
    assert problems == [], "run `make lock`: " + "; ".join(problems)


def test_the_check_finds_a_missing_or_out_of_range_pin() -> None:
    pins = locked("fastapi==0.140.0\nnumpy==2.0.0 ; python_full_version < '3.12'\n")
    assert Requirement("fastapi>=0.115,<0.137").specifier.contains(
        pin_for(pins["fastapi"], "3.11")) is False
    assert pin_for(pins["numpy"], "3.11") == Version("2.0.0")
    assert pin_for(pins["numpy"], "3.12") is None
    with pytest.raises(AssertionError, match="not pinned"):
        locked("pandas>=2.2\n")


def test_make_venv_the_images_and_ci_install_with_the_lock() -> None:
    makefile = (REPO / "Makefile").read_text()
    venv_recipe = makefile.split("$(STAMP):", 1)[1].split("\n\n", 1)[0]
    assert "requirements/lock.txt" in venv_recipe.split("\n", 1)[0]  # a prerequisite
    assert re.search(r"uv pip install .*-c requirements/lock\.txt", venv_recipe)
    assert re.search(r"^lock:", makefile, re.MULTILINE)

    dockerfile = (REPO / "Dockerfile").read_text()
    installs = re.findall(r"uv pip install [^\n]*", dockerfile)
    assert len(installs) == 4 and all("-c requirements/lock.txt" in i for i in installs)
    assert "COPY requirements/lock.txt" in dockerfile
    assert "!requirements/lock.txt" in (REPO / ".dockerignore").read_text().splitlines()

    workflow = (REPO / ".github" / "workflows" / "ci.yml").read_text()
    # CI installs through `make lint` / `make test` (make venv), and fails when pyproject.toml
    # changed without `make lock`.
    assert "make lock" in workflow and "git diff --exit-code requirements/lock.txt" in workflow


def test_the_lock_says_how_to_refresh_it() -> None:
    assert "make lock" in LOCK.read_text().splitlines()[1]
    assert Path(LOCK).stat().st_size < 200_000
