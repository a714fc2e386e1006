"""``replicate plugins`` (what is installed and what a client would choose) and ``replicate
auth login|logout`` (carried out by the auth plugin, through the ``replicate_cli_auth`` hook)."""

from __future__ import annotations

import argparse
import os
from collections.abc import Callable
from typing import Any

from ._context import CommandError, Context
from ._output import print_json
from ._parsing import add_group

__all__ = ["AUTH_HOOK", "add_commands"]

AUTH_HOOK = "replicate_cli_auth"
#: Where ``auth`` learns which plugin to use when ``--plugin`` is not given: the variable that
#: picks the auth provider of clients, so that one name means one plugin for both.
AUTH_ENV = "REPLICATE_AUTH"
#: Named in the error when no installed plugin provides ``replicate auth``.
SUGGESTED = (
    "replicate-keyring (pip install replicate-keyring: it keeps the token in the system keyring)"
)


def add_commands(register: Callable[..., None]) -> None:
    register(
        "plugins",
        plugins_command,
        help="list installed plugins, transports and auth, and what a client would choose",
        configure=lambda p: p.add_argument("--json", action="store_true", help="print as JSON"),
    )
    register(
        "auth",
        lambda context: context.args.handler(context),
        help="store or remove the API token, through an auth plugin (e.g. replicate-keyring)",
        configure=_configure_auth,
    )


def _auth_plugins(context: Context) -> list[str]:
    return context.plugins.answering(AUTH_HOOK) if context.plugins is not None else []


def plugins_command(context: Context) -> int:
    from .._report import plugins_report

    report = plugins_report()
    added = {name: plugin for name, plugin in context.commands.items() if plugin != "replicate"}
    auth = _auth_plugins(context)
    if context.args.json:
        data = report.as_dict()
        data["cli"] = {"commands": added, "auth": auth}
        print_json(data, context.stdout)
        return 0
    lines = [str(report), "", "Commands added by plugins:"]
    lines += [f"  {name} (from {plugin})" for name, plugin in sorted(added.items())] or ["  none"]
    lines += ["", "replicate auth login|logout:"]
    lines.append(
        f"  from {', '.join(auth)}" if auth else f"  no plugin provides it; e.g. {SUGGESTED}"
    )
    context.stdout.write("\n".join(lines) + "\n")
    return 0


# --- auth -----------------------------------------------------------------------------------


def _configure_auth(parser: argparse.ArgumentParser) -> None:
    add = add_group(parser, "auth_action")
    for action, help in (
        (
            "login",
            "store an API token: prompted for (input hidden) on a terminal, else read as one "
            "line from stdin",
        ),
        ("logout", "remove the stored API token"),
    ):
        sub = add(action, auth_command, help=help)
        sub.add_argument(
            "--plugin",
            metavar="NAME",
            help=f"the auth plugin to use, by its entry-point name (default: ${AUTH_ENV}, "
            "else the only installed one)",
        )


def _choose(context: Context, action: str) -> str:
    """The installed plugin that carries out ``replicate auth <action>``."""
    from .._plugins import _why_not_loaded

    offered = _auth_plugins(context)
    listed = ", ".join(repr(n) for n in offered) or "none"
    flag = context.args.plugin
    chosen = flag or (os.environ.get(AUTH_ENV) or "").strip()
    if chosen:
        source = f"--plugin {chosen}" if flag else f"{AUTH_ENV}={chosen!r}"
        installed = context.plugins.installed_names if context.plugins is not None else []
        if chosen not in installed:
            raise CommandError(
                f"{source} names no loaded plugin{_why_not_loaded(chosen)}; installed plugins "
                f"providing `replicate auth`: {listed}"
            )
        if chosen not in offered:
            raise CommandError(
                f"{source}: plugin {chosen!r} does not provide `replicate auth {action}`; "
                f"installed plugins that do: {listed}"
            )
        return chosen
    if not offered:
        raise CommandError(
            f"no installed plugin provides `replicate auth {action}`: install one, such as "
            f"{SUGGESTED}; or set REPLICATE_API_TOKEN instead"
        )
    if len(offered) > 1:
        raise CommandError(
            f"plugins {listed} all provide `replicate auth {action}`: choose one with "
            f"--plugin NAME or {AUTH_ENV}=NAME"
        )
    return offered[0]


def _token_reader(context: Context) -> Callable[[], str]:
    def read_token() -> str:
        stdin = context.stdin
        isatty = getattr(stdin, "isatty", None)
        if callable(isatty) and isatty():
            import getpass

            token = getpass.getpass(
                "Replicate API token (https://replicate.com/account/api-tokens): "
            )
        else:
            token = stdin.readline()
        token = token.strip()
        if not token:
            raise CommandError("no token given", exit_code=2)
        return token

    return read_token


def auth_command(context: Context) -> int:
    action: str = context.args.auth_action
    name = _choose(context, action)
    assert context.plugins is not None  # _choose found a plugin in it
    call: Any = dict(context.plugins.named_callers(AUTH_HOOK, ("action", "read_token")))[name]
    try:
        message = call(action=action, read_token=_token_reader(context))
    except CommandError:
        raise
    except ValueError as exc:
        raise CommandError(f"{name}: {exc}", exit_code=2) from exc
    except Exception as exc:
        reason = " ".join(str(exc).split()) or type(exc).__name__
        raise CommandError(f"plugin {name!r} could not {action}: {reason}") from exc
    if message is None:
        raise CommandError(f"plugin {name!r} does not support `replicate auth {action}`")
    context.stdout.write(f"{' '.join(str(message).split())}\n")
    return 0
