"""Browser pages keep host and player tokens in the signed, HttpOnly session cookie, per game,
and which games the host removed this browser's player from."""
from __future__ import annotations


def remember_token(session, role: str, code: str, token: str) -> None:
    tokens = dict(session.get(role, {}))
    tokens[code.upper()] = token
    session[role] = tokens
    session.permanent = True


def token_for(session, role: str, code: str | None) -> str | None:
    if not code:
        return None
    return session.get(role, {}).get(code.strip().upper())


def forget_token(session, role: str, code: str) -> None:
    """A token the server no longer knows (the player was signed out by a rejoin elsewhere, or
    removed by the host)."""
    tokens = dict(session.get(role, {}))
    if tokens.pop(code.strip().upper(), None) is not None:
        session[role] = tokens


def remember_removal(session, code: str, game_created_at: str) -> None:
    """The host removed this browser's player from the game with this code, created then (a
    later game may reuse the code)."""
    removals = dict(session.get("removed", {}))
    removals[code.strip().upper()] = game_created_at
    session["removed"] = removals
    session.permanent = True


def removal_for(session, code: str | None) -> str | None:
    if not code:
        return None
    return session.get("removed", {}).get(code.strip().upper())
