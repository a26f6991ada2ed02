"""The ``calibrate`` command line: the group, the lazy registry of the heavier
commands, and the one place that turns every error into a line and an exit code.

The modules of this package each hold one job: :mod:`.options` (the app
object, value types, shared options, printing), :mod:`.tasks` (the everyday
commands, registered here), and one module per heavier command family,
loaded by name from :data:`LAZY_COMMANDS` only when it runs. They import from
:mod:`.options`, never from here.

Start-up matters (``calibrate add`` is typed many times a day), so this
module and the everyday commands import only click and the standard-library
modules of the package.
"""

from __future__ import annotations

import os
import sqlite3
import sys
from typing import NoReturn

import click

from calibrate import __version__, store
from calibrate.cli import tasks
from calibrate.cli.options import App, Command, version_option
from calibrate.errors import CalibrateError, UsageError

#: Commands that need pandas, numpy, plotly or sqlite-utils live in modules of
#: their own, imported only when that command runs (or ``--help`` lists them),
#: so that the everyday commands start fast; so do the standard-library ones
#: that ``add`` need not import or build (start, stop, done, drop,
#: reestimate, edit, rm, list, show, status, reopen, undo, config):
#: "name": "module:attribute".
LAZY_COMMANDS: dict[str, str] = {
    "start": "calibrate.cli.timer:start",
    "stop": "calibrate.cli.timer:stop",
    "done": "calibrate.cli.changes:done",
    "drop": "calibrate.cli.changes:drop",
    "reestimate": "calibrate.cli.changes:reestimate",
    "edit": "calibrate.cli.changes:edit",
    "rm": "calibrate.cli.changes:rm",
    "list": "calibrate.cli.reading:list_",
    "show": "calibrate.cli.reading:show",
    "status": "calibrate.cli.reading:status",
    "reopen": "calibrate.cli.recovery:reopen",
    "undo": "calibrate.cli.recovery:undo",
    "config": "calibrate.cli.config:config",
    "score": "calibrate.cli.score:score",
    "import": "calibrate.cli.exchange:import_",
    "export": "calibrate.cli.exchange:export",
    "merge": "calibrate.cli.exchange:merge",
    "demo": "calibrate.cli.demo:demo",
    "report": "calibrate.cli.report:report",
    "rank": "calibrate.cli.ranks:rank",
    "people": "calibrate.cli.ranks:people_command",
    "alias": "calibrate.cli.ranks:alias",
    "suggest": "calibrate.cli.advice:suggest",
    "forecast": "calibrate.cli.advice:forecast",
}


class Interrupted(Exception):
    """Ctrl-C during a command, carried past click (which would print it as
    "aborted", the word for answering no) to the funnel."""


class PipeClosed(Exception):
    """The reader of stdout went away (``| head``), carried past click (which
    would exit 1) to the funnel: not an error."""


class CalibrateGroup(Command, click.Group):
    """Loads the heavier commands lazily, and prints every error as one line,
    ``Error: ...``, on stderr, with an exit code by the error's kind (the
    README's table): a value or usage problem exits 2 and points at the
    command's ``--help``; a data, state or database problem exits 1.
    """

    def list_commands(self, ctx: click.Context) -> list[str]:
        return sorted({*self.commands, *LAZY_COMMANDS})

    def get_command(self, ctx: click.Context, name: str) -> click.Command | None:
        if name not in self.commands and name in LAZY_COMMANDS:
            import importlib

            module_name, attribute = LAZY_COMMANDS[name].split(":")
            self.add_command(getattr(importlib.import_module(module_name), attribute), name)
        return super().get_command(ctx, name)

    def make_context(self, info_name, args, parent=None, **extra) -> click.Context:
        try:  # --help and --version print while the arguments are parsed
            return super().make_context(info_name, args, parent, **extra)
        except BrokenPipeError:
            raise PipeClosed from None

    def invoke(self, ctx: click.Context):
        try:
            result = super().invoke(ctx)
            sys.stdout.flush()  # a closed pipe shows here, inside the funnel
            return result
        except BrokenPipeError:
            raise PipeClosed from None
        except UsageError as error:  # found by the library: report it as click's own
            name = ctx.invoked_subcommand
            command = self.get_command(ctx, name) if name else None
            where = click.Context(command, info_name=name, parent=ctx) if command else ctx
            raise click.UsageError(str(error), where) from None
        except KeyboardInterrupt:
            raise Interrupted from None

    def main(self, args=None, prog_name=None, complete_var=None, standalone_mode=True, **extra):
        _refuse_undecodable(sys.argv[1:] if args is None else args)
        try:
            result = super().main(args, prog_name, complete_var, standalone_mode=False, **extra)
        except click.exceptions.NoArgsIsHelpError as error:
            click.echo(error.ctx.get_help())
            sys.exit(0)
        except click.UsageError as error:
            command = error.ctx.command_path if error.ctx else "calibrate"
            hint = f" (see '{command} --help')"
            _fail(error.format_message() + hint, error.exit_code)
        except click.ClickException as error:
            _fail(error.format_message(), error.exit_code)
        except CalibrateError as error:
            _fail(str(error), error.exit_code)
        except sqlite3.Error as error:
            _fail(str(store.translate(error)), 1)
        except click.Abort:
            _fail("aborted", 1)
        except (Interrupted, KeyboardInterrupt):
            if sys.stderr.isatty():
                click.echo(err=True)  # after the terminal's ^C
            _fail("interrupted", 130)
        except (BrokenPipeError, PipeClosed):
            _pipe_closed()
        except UnicodeEncodeError as error:  # e.g. $CALIBRATE_PERSON in another encoding
            text = error.object[max(0, error.start - 20) : error.end + 20]
            _fail(f"text that is not valid UTF-8: '{_shown(text)}' (check the encoding)", 1)
        if not standalone_mode:
            return result
        try:
            sys.stdout.flush()  # --help and --version print outside invoke
        except BrokenPipeError:
            _pipe_closed()
        sys.exit(result if isinstance(result, int) else 0)


def _refuse_undecodable(args) -> None:
    """An argument in another encoding than UTF-8 (a Latin-1 terminal) reaches
    Python as lone surrogates, which no database text can hold: refuse it by
    name before anything runs (exit 2, like any mistyped argument)."""
    for argument in args:
        if isinstance(argument, str) and not argument.isascii():
            try:
                argument.encode("utf-8")
            except UnicodeEncodeError:
                _fail(
                    f"argument '{_shown(argument)}' is not valid UTF-8 text: check your "
                    "terminal's encoding",
                    2,
                )


def _shown(text: str) -> str:
    """Text with its undecodable bytes written as ``\\xff``."""
    if not text:
        return text
    try:
        return os.fsencode(text).decode("utf-8", "backslashreplace")
    except UnicodeEncodeError:  # a lone surrogate that no byte gave (a "\\ud800" escape)
        return text.encode("utf-8", "backslashreplace").decode("utf-8")


def _fail(message: str, code: int) -> NoReturn:
    try:
        sys.stdout.flush()
    except BrokenPipeError:
        _quiet_stdout()
    click.echo(f"Error: {_printable(message)}", err=True)
    sys.exit(code)


def _pipe_closed() -> NoReturn:
    """``calibrate export | head -1``: the reader has all it wanted. A closed
    pipe ends the command quietly with exit 0, as it ends ``cat``."""
    _quiet_stdout()
    sys.exit(0)


def _quiet_stdout() -> None:
    """Point stdout at the null device, so that Python's last flush of what is
    still buffered cannot fail again (and print a traceback) at exit."""
    try:
        null = os.open(os.devnull, os.O_WRONLY)
        os.dup2(null, sys.stdout.fileno())
        os.close(null)
    except (OSError, ValueError):  # no real stdout (a test's capture): nothing to flush
        pass


def _printable(text: str) -> str:
    """One line with no terminal controls: newlines, escape sequences or bidi
    overrides that came from a file or an argument are shown escaped."""
    if text.isprintable():
        return text
    return "".join(c if c.isprintable() else c.encode("unicode_escape").decode() for c in text)


# --- the group ---------------------------------------------------------------


@click.group(
    cls=CalibrateGroup,
    context_settings={"help_option_names": ["-h", "--help"], "max_content_width": 88},
)
@version_option(__version__)
@click.option(
    "--db",
    metavar="PATH",
    help="The database file [default: $CALIBRATE_DB, else calibrate.db in your data directory].",
)
@click.pass_context
def cli(ctx: click.Context, db: str | None) -> None:
    """Log estimates and actuals; get good at estimating your own work.

    \b
    Quick start:
      calibrate add "Fix login bug" -e 2h      # log a task with its estimate
      calibrate start 1; calibrate stop        # time it (or: done 1 --actual 3h)
      calibrate done 1                         # finish it; the timer is the actual
      calibrate list                           # your open tasks

    Who you are: --person, else $CALIBRATE_PERSON, else the person remembered for
    your OS user ('calibrate config me NAME'; set on first use from git's user.name
    or your login name). Your team: --team, else $CALIBRATE_TEAM.
    """
    if os.environ.get("NO_COLOR"):
        ctx.color = False
    app = App(db)
    ctx.obj = app
    ctx.call_on_close(app.close)


for _command in tasks.COMMANDS:
    cli.add_command(_command)


def main(args: list[str] | None = None, prog_name: str = "calibrate") -> None:
    """The ``calibrate`` program: run the command, then, as the process is
    about to end, freeze every object it made out of the cyclic garbage
    collector's sight (:func:`gc.freeze`). The interpreter's exit then does
    not walk the tens of thousands of objects the imports made, looking for
    cycles the operating system is about to free anyway: 4 of the 50 ms
    ``calibrate add`` takes (``benchmarks/bench_add.py``). Everything the
    command opened is closed by then, so nothing waits on a collection;
    objects are still freed as the modules are torn down."""
    try:
        cli.main(args=args, prog_name=prog_name)
    finally:
        import gc

        gc.freeze()


if __name__ == "__main__":  # pragma: no cover
    main()
