"""The local stack's state file (`<home>/stack/state.json`): which processes one `up` started,
on which ports, with their start times, so `down` stops exactly those."""

from __future__ import annotations

import json
from pathlib import Path

from pydantic import BaseModel, ValidationError

from homeprice.atomic import write_text
from homeprice.errors import HomepriceError
from homeprice.stack.processes import Launched


class ServiceState(BaseModel):
    """One started service: its leader process and where it answers."""

    name: str
    title: str
    pid: int
    start_time: float
    url: str
    health_url: str
    log: str

    @property
    def launched(self) -> Launched:
        """The recorded leader process."""
        return Launched(self.pid, self.start_time)


class StackState(BaseModel):
    """Everything one `homeprice up` started (no secret: tokens live in their own file)."""

    stack_id: str
    started_at: str
    services: list[ServiceState] = []

    @property
    def groups(self) -> set[int]:
        """The process groups of the services (each leader leads its own)."""
        return {service.pid for service in self.services}


def stack_dir(home: Path) -> Path:
    """The folder of the local stack's state, logs and tokens."""
    return home.resolve() / "stack"


def state_path(home: Path) -> Path:
    """The state file of the stack of `home`."""
    return stack_dir(home) / "state.json"


def read_state(home: Path) -> StackState | None:
    """The recorded stack of `home`, or None when nothing is recorded."""
    path = state_path(home)
    try:
        text = path.read_text()
    except FileNotFoundError:
        return None
    try:
        return StackState.model_validate(json.loads(text))
    except (ValueError, ValidationError) as error:
        raise HomepriceError(f"the stack state {path} is unreadable ({type(error).__name__}); "
                             "stop its processes by hand, then delete the file") from None


def write_state(home: Path, state: StackState) -> None:
    """Record `state` (replaced in one step: a reader never sees half of it)."""
    write_text(state_path(home), state.model_dump_json(indent=2))


def clear_state(home: Path) -> None:
    """Forget the recorded stack."""
    state_path(home).unlink(missing_ok=True)
