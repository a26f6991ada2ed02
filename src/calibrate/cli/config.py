"""``calibrate config``: the team settings of the database, and who you are.

The settings live in the database (:mod:`calibrate.store.settings`); who you
are (``config me``) lives in your own config file (:mod:`calibrate.identity`),
never in a database. Standard library and click only: an everyday command,
loaded lazily (``LAZY_COMMANDS``) so that ``add`` does not import it.
"""

from __future__ import annotations

import click

from calibrate import store
from calibrate.cli.options import App, Command, emit, output_options, pass_app, say
from calibrate.store.settings import SETTINGS
from calibrate.text import Column, to_json


@click.command(cls=Command)
@click.argument("key", required=False)
@click.argument("value", required=False)
@click.option("--reset", is_flag=True, help="Put KEY back to its default.")
@output_options
@pass_app
def config(
    app: App, key: str | None, value: str | None, reset: bool, json_output: bool, csv_output: bool
) -> None:
    """Read and set the team settings (no KEY: list them all), and who you are.

    \b
    calibrate config                      # every setting
    calibrate config day-hours 7.5        # a day is 7.5 hours
    calibrate config work-days mon-thu
    calibrate config holidays 2026-12-24,2026-12-25
    calibrate config keep-rate-min 90     # or 90% or 0.9
    calibrate config me "Jane Doe"        # who you are, for this OS user

    'me' is kept in your own config file, not in the database: a shared team
    database never pins everyone to one name. The settings and the values
    each takes:
    """
    from calibrate.store import settings

    if key == "me":
        _config_me(value, reset, json_output)
        return
    if key is not None:
        settings.setting(key)
    if reset:
        if key is None or value is not None:
            raise click.UsageError("--reset takes a KEY and no VALUE")
        with store.transaction(app.conn):
            settings.reset(app.conn, key)
        say(f"{key} = {settings.SETTINGS[key].show(settings.SETTINGS[key].default)} (default)")
        return
    if key is not None and value is not None:  # a VALUE comes after its KEY
        parsed = settings.validate(key, value)
        with store.transaction(app.conn):
            settings.write(app.conn, key, parsed)
        say(f"{key} = {settings.SETTINGS[key].show(parsed)}")
        return
    conn = app.existing_conn()
    values = settings.read_all(conn)
    keys = [key] if key else list(settings.SETTINGS)
    rows = [
        {
            "key": k,
            "value": values[k],
            "shown": settings.SETTINGS[k].show(values[k]),
            "default": values[k] == settings.SETTINGS[k].default,
            "help": settings.SETTINGS[k].help,
        }
        for k in keys
    ]
    if json_output or csv_output:
        emit(
            rows,
            [Column(k, k) for k in ("key", "value", "default", "help")],
            json_output,
            csv_output,
        )
    elif key:
        say(rows[0]["shown"])
    else:
        for row in rows:
            mark = "" if row["default"] else " *"
            say(f"{row['key']:<18}{row['shown'] + mark:<24}{row['help']}")
        say("(* set for this database; the rest are defaults)", err=True)


#: ``config --help`` ends with every setting and the values it takes, from the
#: settings themselves (so that the two never disagree).
config.help = (
    (config.help or "")
    + "\n\n\b\n"
    + "\n".join(f"{s.key:<17} {s.values} [default: {s.show(s.default)}]" for s in SETTINGS.values())
)


def _config_me(value: str | None, reset: bool, json_output: bool) -> None:
    """``config me [NAME]``: who you are, kept for this OS user."""
    from calibrate import identity

    if reset:
        if value is not None:
            raise click.UsageError("--reset takes a KEY and no VALUE")
        identity.remember(identity.PERSON_KEY, None)
        say(f"me = {identity.default_person()} ({identity.person_source()})")
        return
    if value is not None:
        name = identity.check_name(value)
        try:
            path = identity.remember(identity.PERSON_KEY, name)
        except OSError as error:
            from calibrate.errors import InputError

            raise InputError(
                f"cannot remember who you are in {identity.config_path()}: "
                f"{error.strerror or error}"
            ) from None
        say(f"me = {name} (remembered for this OS user in {path})")
        return
    name = identity.default_person()
    if json_output:
        click.echo(to_json({"key": "me", "value": name, "source": identity.person_source()}))
        return
    say(name)
    say(f"({identity.person_source()})", err=True)
