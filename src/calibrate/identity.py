"""Who is typing: the default person and team.

Person (PRODUCT.md, "A day's use"): ``CALIBRATE_PERSON``, else the person
remembered for this OS user (in the user's own config file, never in a
database, so that a shared team database does not pin everyone to its first
user and a per-repository ``git config user.name`` does not make a second
person), else git's ``user.name``, else the login name. The person is
remembered on first use (from git or the login name) and changed with
``calibrate config me NAME``. :func:`git_name_note` says once, when git's
name differs from the remembered one, how to join the two names.
Team: ``CALIBRATE_TEAM`` (a task given no team joins the person's current
team, see :func:`calibrate.tasks.add_task`).

The config file is ``$CALIBRATE_CONFIG_DIR/config``, else ``config`` in the
user's config folder (``$XDG_CONFIG_HOME/calibrate`` or ``~/.config/calibrate``;
``%APPDATA%\\calibrate`` on Windows, ``~/Library/Application Support/calibrate``
on macOS): lines of ``key = value``, read without importing anything.

Git's ``user.name`` is read from git's own configuration files when their
layout is the plain one (the system, global and repository files, no
includes, no quoting); anything else asks ``git config user.name``. Spawning
git costs ``calibrate add`` about 2.5 ms, a twentieth of its start-up budget,
and ``add`` is typed many times a day. Standard library only.
"""

from __future__ import annotations

import contextlib
import os
import sys

#: Environment variables that change which configuration git reads.
_GIT_ENVIRONMENT = (
    "GIT_CONFIG",
    "GIT_CONFIG_GLOBAL",
    "GIT_CONFIG_SYSTEM",
    "GIT_CONFIG_NOSYSTEM",
    "GIT_CONFIG_COUNT",
    "GIT_CONFIG_PARAMETERS",
    "GIT_DIR",
    "GIT_WORK_TREE",
    "GIT_CEILING_DIRECTORIES",
    "GIT_DISCOVERY_ACROSS_FILESYSTEM",
)
#: The config file's keys: the remembered person, and the git name already
#: noted as differing from it (so that the note is said once).
PERSON_KEY, NOTED_KEY = "person", "git-name-noted"


def default_person() -> str:
    """``CALIBRATE_PERSON``, else the remembered person, else git's
    ``user.name``, else the login name; the first time, that name is
    remembered (when the config file can be written)."""
    name = os.environ.get("CALIBRATE_PERSON", "").strip()
    if name:
        return name
    remembered = remembered_person()
    if remembered:
        return remembered
    name = git_user_name() or login_name()
    with contextlib.suppress(OSError):  # a read-only home: git or the login name, each time
        remember(PERSON_KEY, name)
    return name


def person_source() -> str:
    """Where :func:`default_person` takes the name from, in words."""
    if os.environ.get("CALIBRATE_PERSON", "").strip():
        return "$CALIBRATE_PERSON"
    if remembered_person():
        return f"remembered for this OS user in {config_path()}"
    return "git's user.name or the login name"


def login_name() -> str:
    import getpass

    try:
        return getpass.getuser()
    except Exception:  # no login name (some containers): still a name
        return "me"


# --- the user's config file ------------------------------------------------------


def user_folder(xdg_variable: str, *xdg_default: str) -> str:
    """calibrate's folder among the user's own on this system: under
    ``%APPDATA%`` on Windows, ``~/Library/Application Support`` on macOS, else
    ``$XDG_...`` (``xdg_variable``) or ``~/<xdg_default>``: the config file's
    (``XDG_CONFIG_HOME``, ``.config``) and the data's (``XDG_DATA_HOME``,
    ``.local/share``)."""
    home = os.path.expanduser("~")
    if sys.platform == "win32":
        base = os.environ.get("APPDATA") or os.path.join(home, "AppData", "Roaming")
    elif sys.platform == "darwin":
        base = os.path.join(home, "Library", "Application Support")
    else:
        base = os.environ.get(xdg_variable) or os.path.join(home, *xdg_default)
    return os.path.join(base, "calibrate")


def config_path() -> str:
    """The user's own config file (see the module's docstring)."""
    folder = os.environ.get("CALIBRATE_CONFIG_DIR", "").strip()
    if folder:
        return os.path.join(os.path.expanduser(folder), "config")
    return os.path.join(user_folder("XDG_CONFIG_HOME", ".config"), "config")


def read_config() -> dict[str, str]:
    """The config file's ``key = value`` lines (``#`` starts a comment line);
    an unreadable or missing file is empty."""
    try:
        with open(config_path(), encoding="utf-8") as handle:
            text = handle.read()
    except (OSError, UnicodeDecodeError):
        return {}
    values = {}
    for line in text.splitlines():
        key, sep, value = line.partition("=")
        if sep and not line.lstrip().startswith("#"):
            values[key.strip().lower()] = value.strip()
    return values


def remembered_person() -> str | None:
    return read_config().get(PERSON_KEY) or None


def remember(key: str, value: str | None) -> str:
    """Set (or, with ``None``, forget) ``key`` in the config file, written
    atomically; returns the file's path. Raises ``OSError``."""
    from calibrate.files import atomic_write

    values = read_config()
    if value is None:
        values.pop(key, None)
    else:
        values[key] = value
    path = config_path()
    lines = [
        "# calibrate: your settings as this OS user (not a database's).",
        "# 'calibrate config me NAME' changes who you are.",
        *(f"{name} = {text}" for name, text in values.items()),
    ]
    with atomic_write(path, make_folder=True) as handle:
        handle.write("\n".join(lines) + "\n")
    return path


def check_name(name: str) -> str:
    """A person's name as ``config me`` stores it: one line of printable text."""
    from calibrate.errors import UsageError

    cleaned = name.strip()
    if not cleaned:
        raise UsageError("a person's name cannot be empty")
    if not cleaned.isprintable():
        raise UsageError(f"{cleaned!r}: a person's name is one line of text")
    return cleaned


def git_name_note(person: str) -> str | None:
    """When ``person`` is the remembered one and git's ``user.name`` here is
    another name, what to do about it, once per git name (it is remembered as
    noted); ``None`` otherwise."""
    if os.environ.get("CALIBRATE_PERSON", "").strip():
        return None
    values = read_config()
    if values.get(PERSON_KEY) != person:
        return None
    git_name = git_user_name()
    if not git_name or git_name == person or values.get(NOTED_KEY) == git_name:
        return None
    try:
        remember(NOTED_KEY, git_name)
    except OSError:
        return None  # cannot remember having said it: say nothing rather than every time
    return (
        f"Note: git's user.name here is {git_name!r}; calibrate knows you as {person!r} "
        f"(for this OS user). Same person: calibrate alias {_quoted(git_name)} "
        f"{_quoted(person)}. To switch: calibrate config me {_quoted(git_name)}. (Said once.)"
    )


def _quoted(name: str) -> str:
    import shlex

    return shlex.quote(name)


def default_team() -> str | None:
    return os.environ.get("CALIBRATE_TEAM", "").strip() or None


def git_user_name() -> str | None:
    """Git's ``user.name``, or ``None`` when git has none (or is missing)."""
    files = git_config_files()
    if files is not None:
        understood, name = read_user_name(files)
        if understood and name:
            return name
    return ask_git()


def git_config_files() -> list[str] | None:
    """The files git takes ``user.name`` from, lowest priority first, or
    ``None`` for a layout this reader does not follow (then git is asked)."""
    if any(key in os.environ for key in _GIT_ENVIRONMENT):
        return None
    home = os.path.expanduser("~")
    xdg = os.environ.get("XDG_CONFIG_HOME") or os.path.join(home, ".config")
    files = ["/etc/gitconfig", os.path.join(xdg, "git", "config"), os.path.join(home, ".gitconfig")]
    try:
        folder = os.getcwd()
    except OSError:
        return None
    while True:
        dotgit = os.path.join(folder, ".git")
        if os.path.isdir(dotgit):
            if os.path.exists(os.path.join(dotgit, "config.worktree")):
                return None
            files.append(os.path.join(dotgit, "config"))
            break
        if os.path.exists(dotgit):  # a worktree or a submodule points elsewhere
            return None
        parent = os.path.dirname(folder)
        if parent == folder:
            break
        folder = parent
    return files


def read_user_name(files: list[str]) -> tuple[bool, str | None]:
    """(whether every file was plain enough to read, the last ``user.name``)."""
    name = None
    for path in files:
        understood, value = _user_name_in(path)
        if not understood:
            return False, None
        if value is not None:
            name = value
    return True, name


def _user_name_in(path: str) -> tuple[bool, str | None]:
    try:
        with open(path, encoding="utf-8") as handle:
            text = handle.read()
    except FileNotFoundError:
        return True, None
    except (OSError, UnicodeDecodeError):
        return False, None
    section = None
    value = None
    for raw in text.splitlines():
        line = raw.strip()
        if not line or line[0] in "#;":
            continue
        if line.startswith("["):
            end = line.find("]")
            rest = line[end + 1 :].strip() if end > 0 else "x"
            header = line[1:end].strip().lower() if end > 0 else ""
            if end < 0 or header.startswith("include") or (rest and rest[0] not in "#;"):
                return False, None
            section = header
            continue
        if section != "user":
            continue
        key, sep, rest = line.partition("=")
        if key.strip().lower() != "name":
            continue
        if not sep or '"' in rest or "\\" in rest:
            return False, None
        for marker in ("#", ";"):
            rest = rest.split(marker, 1)[0]
        value = rest.strip()
    return True, value


def ask_git() -> str | None:
    """``git config user.name``, spawned with ``os.posix_spawnp`` where there
    is one (importing ``subprocess`` alone costs about 3 ms)."""
    command = ["git", "config", "user.name"]
    if not hasattr(os, "posix_spawnp"):
        import subprocess

        try:
            result = subprocess.run(command, capture_output=True, text=True, timeout=3)
        except (OSError, subprocess.SubprocessError):
            return None
        return result.stdout.strip() if result.returncode == 0 else None
    read_end, write_end = os.pipe()
    try:
        pid = os.posix_spawnp(
            "git",
            command,
            os.environ,
            file_actions=[
                (os.POSIX_SPAWN_DUP2, write_end, 1),
                (os.POSIX_SPAWN_OPEN, 2, os.devnull, os.O_WRONLY, 0),
                (os.POSIX_SPAWN_CLOSE, read_end),
            ],
        )
    except OSError:
        os.close(read_end)
        os.close(write_end)
        return None
    os.close(write_end)
    output = b""
    while chunk := os.read(read_end, 4096):
        output += chunk
    os.close(read_end)
    _, status = os.waitpid(pid, 0)
    if os.waitstatus_to_exitcode(status) != 0:
        return None
    return output.decode("utf-8", "replace").strip() or None
