"""The Dockerfile rules hadolint does not know: pinned bases, a numeric non-root user created
explicitly, a Python healthcheck on /healthz, `homeprice serve` as the API's command, no
secret baked into an image.

The parser is deliberately small: instructions (continuation lines joined, comments dropped),
grouped by stage, with `ARG` defaults substituted; enough for the rules, not a BuildKit.
"""

from __future__ import annotations

import json
import re
import shlex
from dataclasses import dataclass, field

# Names that must never carry a value in the image (they come from the runtime environment).
SECRET_NAME = re.compile(r"TOKEN|PASSWORD|PASSWD|SECRET|CREDENTIAL|API_KEY", re.IGNORECASE)


@dataclass
class Stage:
    """One `FROM ... [AS name]` stage and its instructions (keyword, argument text)."""

    base: str
    name: str | None
    instructions: list[tuple[str, str]] = field(default_factory=list)

    def last(self, keyword: str) -> str | None:
        """The argument of the stage's last `keyword` instruction, None when it has none."""
        found = [argument for key, argument in self.instructions if key == keyword]
        return found[-1] if found else None


def instructions(text: str) -> list[tuple[str, str]]:
    """The Dockerfile's instructions in order: (upper-case keyword, argument text)."""
    result: list[tuple[str, str]] = []
    pending = ""
    for raw in text.splitlines():
        line = raw.strip()
        if not pending and (not line or line.startswith("#")):
            continue
        if pending and line.startswith("#"):
            continue  # a comment inside a continued instruction is not part of it
        if line.endswith("\\"):
            pending += line[:-1] + " "
            continue
        line = pending + line
        pending = ""
        keyword, _, argument = line.partition(" ")
        result.append((keyword.upper(), argument.strip()))
    return result


def _substitute(text: str, args: dict[str, str]) -> str:
    return re.sub(r"\$\{(\w+)\}|\$(\w+)",
                  lambda m: args.get(m.group(1) or m.group(2), m.group(0)), text)


def _arg(argument: str) -> tuple[str, str | None]:
    name, sep, default = argument.partition("=")
    return name.strip(), default.strip().strip('"') if sep else None


def stages(text: str) -> list[Stage]:
    """The stages, ARG defaults substituted (global ARGs in FROM lines, stage ARGs within)."""
    global_args: dict[str, str] = {}
    result: list[Stage] = []
    stage_args: dict[str, str] = {}
    for keyword, argument in instructions(text):
        if keyword == "FROM":
            words = [w for w in _substitute(argument, global_args).split()
                     if not w.startswith("--")]
            name = words[2] if len(words) >= 3 and words[1].upper() == "AS" else None
            result.append(Stage(base=words[0], name=name))
            stage_args = dict(global_args)
            continue
        if keyword == "ARG":
            name, default = _arg(argument)
            if default is not None:
                (stage_args if result else global_args)[name] = default
            if not result:
                continue
        if not result:
            continue
        result[-1].instructions.append((keyword, _substitute(argument, stage_args)))
    return result


def lineage(all_stages: list[Stage], stage: Stage) -> list[Stage]:
    """`stage` and the stages it is built FROM, nearest first."""
    by_name = {s.name: s for s in all_stages if s.name}
    chain = [stage]
    while chain[-1].base in by_name:
        chain.append(by_name[chain[-1].base])
    return chain


def _command(argument: str | None) -> list[str]:
    if argument is None:
        return []
    if argument.startswith("["):
        return json.loads(argument)
    return shlex.split(argument)


def _pinned(image: str) -> bool:
    if "@sha256:" in image:
        return True
    last = image.split("/")[-1]
    tag = last.partition(":")[2]
    return tag != "latest" and any(ch.isdigit() for ch in tag)


def problems(text: str, api_stage: str = "api") -> list[str]:
    """Every broken rule of the Dockerfile `text`, as a sentence naming it (empty: all kept)."""
    found: list[str] = []
    all_stages = stages(text)
    names = {s.name for s in all_stages if s.name}
    if not all_stages:
        return ["no FROM instruction"]
    for stage in all_stages:
        if stage.base not in names and not _pinned(stage.base):
            found.append(f"base image {stage.base} is not pinned by version or digest")
    created_uids = {int(m.group(1)) for s in all_stages for key, arg in s.instructions
                    if key == "RUN" for m in re.finditer(r"useradd\b[^&;]*?(?:--uid|-u)\s+(\d+)",
                                                         arg)}
    # Every stage that no other stage builds FROM or copies from is an image someone runs.
    used = {t.base for t in all_stages} | {
        m.group(1) for t in all_stages for key, arg in t.instructions if key == "COPY"
        for m in re.finditer(r"--from=(\S+)", arg)}
    targets = [s for s in all_stages if s.name not in used]
    for stage in targets:
        label = stage.name or stage.base
        user = next((s.last("USER") for s in lineage(all_stages, stage) if s.last("USER")), None)
        uid = (user or "").split(":")[0]
        if not uid.isdigit():
            found.append(f"stage {label} does not run as a numeric USER (got {user!r})")
        elif int(uid) == 0:
            found.append(f"stage {label} runs as root (USER {user})")
        elif int(uid) not in created_uids:
            found.append(f"stage {label} runs as uid {uid}, which no useradd --uid creates")
    for stage in all_stages:
        for key, argument in stage.instructions:
            if key in {"ENV", "ARG"}:
                for name in re.findall(r"(\w+)=\S", argument) or [argument.split()[0]]:
                    if SECRET_NAME.search(name) and ("=" in argument or key == "ENV"):
                        found.append(f"{key} {name} bakes a secret into the image")
    api = next((s for s in all_stages if s.name == api_stage), None)
    if api is None:
        return found + [f"no stage named {api_stage}"]
    if all_stages[-1] is not api:
        found.append(f"stage {api_stage} is not the last, so a plain `docker build` skips it")
    chain = lineage(all_stages, api)
    healthcheck = next((s.last("HEALTHCHECK") for s in chain if s.last("HEALTHCHECK")), None)
    if healthcheck is None:
        found.append(f"stage {api_stage} has no HEALTHCHECK")
    else:
        probe = healthcheck.partition("CMD")[2]
        if "/healthz" not in probe or "python" not in probe:
            found.append("the API healthcheck does not probe /healthz with Python")
        if re.search(r"\b(curl|wget)\b", probe):
            found.append("the API healthcheck uses curl/wget, which slim images lack")
    entrypoint = next((_command(s.last("ENTRYPOINT")) for s in chain if s.last("ENTRYPOINT")),
                      [])
    command = next((_command(s.last("CMD")) for s in chain if s.last("CMD")), [])
    if (entrypoint + command)[:2] != ["homeprice", "serve"]:
        found.append(f"the API runs {entrypoint + command}, not homeprice serve")
    if "--workers" in command:
        found.append("the API starts several workers; one process per container")
    # serving.workers defaults to one per core ("auto"): the image pins one.
    workers = [m.group(1) for s in chain for key, arg in s.instructions if key == "ENV"
               for m in re.finditer(r"HOMEPRICE_SERVING__WORKERS=(\S+)", arg)]
    if workers[-1:] != ["1"]:
        found.append("the API image does not set HOMEPRICE_SERVING__WORKERS=1 (the default "
                     "starts one worker per core; one process per container)")
    return found
