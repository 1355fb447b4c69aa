"""The API's admin and feedback tokens for the local stack: taken from the environment, or
generated once into a file only the user can read (`<home>/stack/tokens.env`, mode 0600)."""

from __future__ import annotations

import os
import secrets
import stat
from dataclasses import dataclass, field
from pathlib import Path

from homeprice.errors import UserInputError

# The variables the API reads its tokens from (README "Security").
TOKEN_VARIABLES = ("HOMEPRICE_ADMIN_TOKEN", "HOMEPRICE_FEEDBACK_TOKEN")
TOKENS_FILE = "tokens.env"


@dataclass
class Tokens:
    """The tokens the API gets, where each came from, and which were generated just now."""

    values: dict[str, str]
    path: Path
    from_environment: list[str] = field(default_factory=list)
    generated: list[str] = field(default_factory=list)

    def save(self) -> None:
        """Keep generated tokens in the file (owner-only), with those read from it before."""
        if self.generated:
            _write_file(self.path, {name: value for name, value in self.values.items()
                                    if name not in self.from_environment})


def _read_file(path: Path) -> dict[str, str]:
    """The NAME=value lines of the tokens file; refused if others may read it."""
    mode = stat.S_IMODE(path.stat().st_mode)
    if mode & 0o077:
        raise UserInputError(f"{path} holds tokens but others may read it (mode {mode:o}): "
                             f"run chmod 600 {path}")
    values = {}
    for number, line in enumerate(path.read_text().splitlines(), start=1):
        if not line.strip() or line.lstrip().startswith("#"):
            continue
        name, equals, value = line.partition("=")
        if not equals or name.strip() not in TOKEN_VARIABLES or not value.strip():
            raise UserInputError(f"{path}, line {number}: expected HOMEPRICE_ADMIN_TOKEN=... "
                                 "or HOMEPRICE_FEEDBACK_TOKEN=...")
        values[name.strip()] = value.strip()
    return values


def _write_file(path: Path, values: dict[str, str]) -> None:
    """Write the tokens file readable by its owner only, from the first byte on."""
    path.parent.mkdir(parents=True, exist_ok=True)
    temp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    descriptor = os.open(temp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    try:
        with os.fdopen(descriptor, "w") as handle:
            handle.write("# homeprice up: the API's tokens (source this file to use them)\n")
            handle.writelines(f"{name}={value}\n" for name, value in values.items())
        os.replace(temp, path)
    finally:
        temp.unlink(missing_ok=True)


def ensure_tokens(folder: Path, environ: dict[str, str]) -> Tokens:
    """Each token from `environ` when set there, else from the tokens file in `folder`, else
    generated (`Tokens.save` keeps them there once the stack is up; the caller shows them
    once, and never logs them)."""
    path = folder / TOKENS_FILE
    stored = _read_file(path) if path.exists() else {}
    tokens = Tokens(values={}, path=path)
    for name in TOKEN_VARIABLES:
        if environ.get(name):
            tokens.values[name] = environ[name]
            tokens.from_environment.append(name)
        elif name in stored:
            tokens.values[name] = stored[name]
        else:
            tokens.values[name] = secrets.token_urlsafe(32)
            tokens.generated.append(name)
    return tokens
