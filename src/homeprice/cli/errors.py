"""Error reporting for every command at once: one red line and an exit code, never a traceback."""

from __future__ import annotations

import os
from typing import TYPE_CHECKING, Any

import typer
from typer.core import TyperGroup

from homeprice.cli.render import err, render_quality
from homeprice.errors import DataValidationError, HomepriceError

if TYPE_CHECKING:
    from typer._click import Context  # typer 0.29 vendors click; groups get its Context


def report(error: Exception) -> typer.Exit:
    """Print `error` for the user; the Exit (with the error's code) that ends the command.

    A HomepriceError is one red line (a DataValidationError also shows its quality report);
    anything else is one "internal error" line with exit code 1.
    """
    if isinstance(error, HomepriceError):
        if isinstance(error, DataValidationError) and error.report:
            render_quality(error.report, console=err)
        err.print(f"[bold red]error:[/] {error}", highlight=False, soft_wrap=True)
        return typer.Exit(error.exit_code)
    err.print(f"[bold red]internal error:[/] {type(error).__name__}: {error} "
              "(set HOMEPRICE_DEBUG=1 for the traceback)", highlight=False, soft_wrap=True)
    return typer.Exit(1)


class ReportingGroup(TyperGroup):
    """The root command group: reports the errors of whichever command runs beneath it.

    A group's invoke parses and runs its subcommands (and theirs) inside itself, so wrapping
    the root's covers every command, present and future, without decorating each one. Exit,
    Abort and usage errors pass through for Typer to handle as usual.
    """

    def invoke(self, ctx: Context) -> Any:
        try:
            return super().invoke(ctx)
        # TyperException is the base of usage errors (bad option, missing command...).
        except (typer.Exit, typer.Abort, typer.TyperException):
            raise
        except HomepriceError as error:
            raise report(error) from None
        except Exception as error:  # noqa: BLE001 - last resort: one line, not a traceback
            if os.environ.get("HOMEPRICE_DEBUG"):
                raise
            raise report(error) from None
