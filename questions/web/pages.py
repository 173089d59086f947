"""HTML pages: thin form adapters over the same use cases as the JSON API.

Every page works without JavaScript (forms post, then redirect to a page showing the current
state); with JavaScript, Socket.IO events make it refetch its live panel (``?partial=1``)."""
from __future__ import annotations

import segno
from flask import Blueprint, abort, redirect, render_template, request, session, url_for

from ..core.errors import Conflict, Invalid, NotFound, ServiceError, Unprocessable
from ..game import bank, games, rounds
from ..runtime import context, runtime
from .session_tokens import remember_token, token_for


def run_form(use_case, data: dict, token: str | None = None):
    """Run a use case with form input; returns (result, errors, status) so the page can show
    the messages next to what the user typed, with the status the use case refused it with
    (400 invalid, 404, 409 conflict, 422, 429 too many requests)."""
    try:
        return use_case(context(token=token), data), [], 200
    except ServiceError as exc:
        return None, exc.messages, exc.status


def public_base() -> str:
    return (runtime().settings.public_url or request.host_url).rstrip("/")


def qr_data_uri(url: str) -> str:
    return segno.make(url, error="m").svg_data_uri(scale=8, border=2)


def answers_from_form(form) -> list[dict]:
    """Form fields ``q<question id>=<contender>`` as use-case answers."""
    return [{"question_id": int(key[1:]), "answer": value} for key, value in form.items()
            if key.startswith("q") and key[1:].isdigit() and value]


def contenders_from_form(form) -> list[str]:
    lines = form.get("contenders", "").replace(",", "\n").splitlines()
    return [line.strip() for line in lines if line.strip()]


def blueprint() -> Blueprint:
    bp = Blueprint("pages", __name__)

    @bp.route("/questions", methods=["GET", "POST"])
    def questions():
        errors, body, status = [], "", 200
        if request.method == "POST":
            body = request.form.get("body", "")
            created, errors, status = run_form(bank.create_question, {"body": body})
            if created is not None:
                return redirect(url_for("pages.questions", added=created.id), code=303)
        listed = bank.list_questions(context(), {})
        return render_template("questions.html", questions=listed, errors=errors, body=body,
                               added=request.args.get("added", type=int)), status

    @bp.route("/", methods=["GET", "POST"])
    def index():
        errors, status = [], 200
        chosen = [int(v) for v in request.form.getlist("question_ids") if v.isdigit()]
        title = request.form.get("title", "")
        if request.method == "POST":
            created, errors, status = run_form(games.create_game, {"question_ids": chosen,
                                                                    "title": title.strip() or None})
            if created is not None:
                remember_token(session, "host", created.code, created.host_token)
                return redirect(url_for("pages.host", code=created.code), code=303)
        listed = bank.list_questions(context(), {})
        if request.method == "GET" and not chosen:
            chosen = [q.id for q in listed[:4]]
        return render_template("index.html", questions=listed, chosen=chosen, title=title,
                               errors=errors), status

    @bp.route("/join", methods=["GET", "POST"])
    @bp.route("/join/<code>", methods=["GET", "POST"])
    def join(code: str = ""):
        errors, status, bad_field = [], 200, None
        code = request.form.get("code", code).strip().upper()
        name = request.form.get("name", "")
        if request.method == "GET" and code and token_for(session, "player", code):
            return redirect(url_for("pages.play", code=code))
        if request.method == "POST":
            try:
                player = games.join_game(context(), {"code": code, "name": name})
            except ServiceError as exc:
                errors, status = exc.messages, exc.status
                # which input the message is about, so the page marks and focuses that one
                bad_field = ("code" if isinstance(exc, (NotFound, Conflict))
                             else "name" if isinstance(exc, (Invalid, Unprocessable)) else None)
            else:
                remember_token(session, "player", player.code, player.token)
                return redirect(url_for("pages.play", code=player.code), code=303)
        return render_template("join.html", code=code, name=name, errors=errors,
                               bad_field=bad_field), status

    def state_for(role: str | None, code: str):
        """The caller's state, or a redirect when the browser holds no token for this game."""
        token = token_for(session, role, code) if role else None
        if role and not token:
            return None
        return games.get_state(context(token=token), {"code": code})

    def render_live(template: str, role: str | None, code: str, errors=(), status=200, **extra):
        state = state_for(role, code)
        if state is None:
            if role == "player":
                return redirect(url_for("pages.join", code=code.upper()))
            abort(403, "This browser is not the host of this game")
        if request.args.get("partial"):
            template = "_" + template  # just the live panel, for the page's script to swap in
        return render_template(template, state=state, game=state.game, round=state.game.round,
                               errors=list(errors),
                               join_url=f"{public_base()}/join/{state.game.code}", **extra), status

    @bp.route("/play/<code>")
    def play(code):
        return render_live("play.html", "player", code)

    @bp.route("/play/<code>/picks", methods=["POST"])
    def play_picks(code):
        answers = answers_from_form(request.form)
        _, errors, status = run_form(rounds.submit_picks, {"code": code, "answers": answers},
                                     token_for(session, "player", code))
        if errors:
            return render_live("play.html", "player", code, errors, status,
                               typed={a["question_id"]: a["answer"] for a in answers})
        return redirect(url_for("pages.play", code=code.upper(), saved=1), code=303)

    def host_extras(code) -> dict:
        """What only the host page shows: the bank to add from, and everyone's picks."""
        try:
            picks = rounds.get_round_picks(context(token=token_for(session, "host", code)),
                                           {"code": code})
        except ServiceError:
            picks = None
        return {"bank_questions": bank.list_questions(context(), {}), "round_picks": picks}

    @bp.route("/host/<code>")
    def host(code):
        return render_live("host.html", "host", code, **host_extras(code))

    HOST_ACTIONS = {
        "rounds": (rounds.start_round, lambda f: {"contenders": contenders_from_form(f)}),
        "lock": (rounds.lock_round, lambda f: {}),
        "score": (rounds.score_round, lambda f: {"answers": answers_from_form(f)}),
        "questions": (games.add_game_question, lambda f: (
            {"body": f.get("body", "")} if f.get("body", "").strip()
            else {"question_id": int(f["question_id"])} if f.get("question_id", "").isdigit()
            else {})),
        "end": (games.end_game, lambda f: {}),
    }

    @bp.route("/host/<code>/<action>", methods=["POST"])
    def host_action(code, action):
        if action not in HOST_ACTIONS:
            abort(404)
        use_case, read_form = HOST_ACTIONS[action]
        _, errors, status = run_form(use_case, {"code": code, **read_form(request.form)},
                                     token_for(session, "host", code))
        if errors:
            return render_live("host.html", "host", code, errors, status,
                               typed=request.form.to_dict(), **host_extras(code))
        return redirect(url_for("pages.host", code=code.upper()), code=303)

    @bp.route("/screen/<code>")
    def screen(code):
        join_url = f"{public_base()}/join/{code.strip().upper()}"
        return render_live("screen.html", None, code, qr=qr_data_uri(join_url))

    return bp
