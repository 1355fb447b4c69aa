"""Error reporting, applied once at the root: every command, present or future, gets it."""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Iterator

import pytest
import typer
from typer.testing import CliRunner

from homeprice.cli import app, data
from homeprice.errors import DataValidationError, LakeError, UserInputError

runner = CliRunner()

QUALITY_REPORT = {
    "dataset": "california", "rows": 3, "status": "failed", "columns": ["median_income"],
    "missing": {}, "outliers": {}, "range_violations": {}, "domain_violations": {},
    "duplicates": 0,
    "critical": [{"column": "median_income", "row": 2, "message": "not a number"}],
}


@contextlib.contextmanager
def command_on(group: typer.Typer, name: str, callback: Callable[[], None]) -> Iterator[None]:
    """`callback` as command `name` of `group`, plainly registered, for the `with` block."""
    group.command(name)(callback)
    added = group.registered_commands[-1]
    try:
        yield
    finally:
        group.registered_commands.remove(added)


def raising(error: BaseException) -> Callable[[], None]:
    def command() -> None:
        """A command that fails."""
        raise error

    return command


@pytest.fixture(autouse=True)
def no_debug(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("HOMEPRICE_DEBUG", raising=False)


@pytest.mark.parametrize(("error", "code"), [(UserInputError("no such flavour"), 2),
                                             (LakeError("no such flavour"), 1)])
def test_a_new_command_reports_homeprice_errors_without_decorating_it(
        error: Exception, code: int) -> None:
    with command_on(data.app, "boom", raising(error)):
        result = runner.invoke(app, ["data", "boom"])
    assert result.exit_code == code
    assert result.stderr == "error: no such flavour\n"
    assert result.stdout == ""


def test_a_new_group_reports_errors_too() -> None:
    group = typer.Typer()
    app.add_typer(group, name="extra")
    try:
        with command_on(group, "boom", raising(UserInputError("bad input"))):
            result = runner.invoke(app, ["extra", "boom"])
    finally:
        app.registered_groups.pop()
    assert result.exit_code == 2
    assert result.stderr == "error: bad input\n"


def test_a_validation_error_prints_its_quality_report_to_stderr() -> None:
    error = DataValidationError("column 'median_income', row 2: not a number", QUALITY_REPORT)
    with command_on(data.app, "boom", raising(error)):
        result = runner.invoke(app, ["data", "boom"])
    assert result.exit_code == 2
    assert result.stdout == ""
    assert "Quality of california (3 rows): failed" in result.stderr
    assert "critical median_income row 2: not a number" in result.stderr
    assert result.stderr.endswith("error: column 'median_income', row 2: not a number\n")


def test_any_other_exception_is_one_internal_error_line() -> None:
    with command_on(data.app, "boom", raising(ZeroDivisionError("division by zero"))):
        result = runner.invoke(app, ["data", "boom"])
    assert result.exit_code == 1
    assert result.stderr == ("internal error: ZeroDivisionError: division by zero "
                             "(set HOMEPRICE_DEBUG=1 for the traceback)\n")
    assert isinstance(result.exception, SystemExit)


def test_homeprice_debug_lets_the_traceback_through(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("HOMEPRICE_DEBUG", "1")
    with command_on(data.app, "boom", raising(ZeroDivisionError("division by zero"))):
        result = runner.invoke(app, ["data", "boom"])
    assert isinstance(result.exception, ZeroDivisionError)
    assert "internal error" not in result.output


def test_exit_and_abort_pass_through() -> None:
    with command_on(data.app, "quit", raising(typer.Exit(3))):
        result = runner.invoke(app, ["data", "quit"])
    assert result.exit_code == 3 and result.output == ""
    with command_on(data.app, "abort", raising(typer.Abort())):
        result = runner.invoke(app, ["data", "abort"])
    assert result.exit_code == 1
    assert "Aborted" in result.output and "internal error" not in result.output


def test_usage_errors_stay_typers() -> None:
    result = runner.invoke(app, ["models", "list"])
    assert result.exit_code == 2
    assert "Missing option '--dataset'" in result.output
    assert "internal error" not in result.output and "error:" not in result.output
    result = runner.invoke(app, ["bogus"])
    assert result.exit_code == 2 and "No such command 'bogus'" in result.output
