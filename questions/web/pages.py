"""HTML pages: thin form adapters over the same use cases as the JSON API.

Every page works without JavaScript (forms post, then redirect to a page showing the current
state); with JavaScript, Socket.IO events make it refetch its live panel (``?partial=1``).
What a template shows is worked out here; the templates only lay it out."""
from __future__ import annotations

from collections.abc import Callable

import segno
from flask import Blueprint, abort, current_app, redirect, render_template, request, session, url_for
from flask_babel import gettext
from werkzeug.datastructures import MultiDict
from werkzeug.exceptions import RequestEntityTooLarge

from ..core.errors import Conflict, Forbidden, Invalid, NotFound, ServiceError, Unauthorized, Unprocessable
from ..core.extensions import csrf
from ..core.usecase import UseCase
from ..game import bank, games, hosts, packs, players, rejoin, round_controls, rounds, timer, transfer
from ..game.picks import submit_picks
from ..game.players import REMOVED_MESSAGE
from ..game.schema import GameState, RoundOut, RoundQuestionOut, Standing
from ..runtime import context, runtime
from .host_keys_pages import cohost_link
from .i18n import current_language, t
from .session_tokens import forget_token, remember_removal, remember_token, removal_for, token_for

bp = Blueprint("pages", __name__)


def run_form(use_case, data: dict, token: str | None = None):
    """Run a use case with form input; returns (result, errors, status) so the page can show
    the messages next to what the user typed, with the status the use case refused it with
    (400 invalid, 404, 409 conflict, 422, 429 too many requests)."""
    try:
        return use_case(context(token=token), data), [], 200
    except ServiceError as exc:
        return None, [t(message) for message in exc.messages], exc.status


# room for a multipart body's boundaries and headers around the largest file an import takes
UPLOAD_OVERHEAD = 64 * 1024


def join_url(code: str) -> str:
    base = runtime().settings.public_url or request.host_url
    return base.rstrip("/") + url_for("pages.join", code=code.strip().upper())


def qr_data_uri(url: str) -> str:
    return segno.make(url, error="m").svg_data_uri(scale=8, border=2)


def answers_from_form(form) -> list[dict]:
    """Form fields ``q<question id>=<contender>`` as use-case answers."""
    return [{"question_id": int(key[1:]), "answer": value} for key, value in form.items()
            if key.startswith("q") and key[1:].isdigit() and value]


def contenders_from_form(form) -> list[str]:
    lines = form.get("contenders", "").replace(",", "\n").splitlines()
    return [line.strip() for line in lines if line.strip()]


def seconds_from_form(form) -> dict:
    """The round timer's seconds, if the host set one (the use case checks the number)."""
    seconds = form.get("seconds", "").strip()
    return {"seconds": seconds} if seconds else {}


def question_from_form(form) -> dict:
    """A new question's body, else a bank question's id, else nothing (the use case says which)."""
    if form.get("body", "").strip():
        return {"body": form["body"]}
    if form.get("question_id", "").isdigit():
        return {"question_id": int(form["question_id"])}
    return {}


def render_bank(errors=(), status=200, import_errors=(), body="", pack=None):
    """The bank grouped by pack (or the pack the ``?pack=`` filter names), with its forms."""
    errors = list(errors)
    try:
        view = packs.bank_by_pack(context(), {"pack": request.args.get("pack")})
    except NotFound as exc:
        view, status = packs.bank_by_pack(context(), {}), 404
        errors += [t(message) for message in exc.messages]
    report = {key: request.args.get(key, type=int)
              for key in ("imported", "duplicates", "linked") if key in request.args}
    return render_template("questions.html", bank=view, errors=errors,
                           import_errors=list(import_errors), no_pack=packs.NO_PACK,
                           added=request.args.get("added", type=int), report=report,
                           body=body, pack=view.pack if pack is None else pack), status


@bp.route("/questions", methods=["GET", "POST"])
def questions():
    if request.method == "POST":
        body, pack = request.form.get("body", ""), request.form.get("pack", "")
        if pack and pack != packs.NO_PACK:
            created, errors, status = run_form(packs.add_pack_question, {"slug": pack, "body": body})
        else:
            created, errors, status = run_form(bank.create_question, {"body": body})
        if created is not None:
            return redirect(url_for("pages.questions", added=created.id,
                                    pack=request.args.get("pack")), code=303)
        return render_bank(errors, status, body=body, pack=pack)
    return render_bank()


@bp.route("/questions/import", methods=["POST"])
@csrf.exempt  # the app-wide check reads the form under the 64 KiB limit; this one is checked below
def import_questions():
    """Import an uploaded file; it may be 2 MB (plus the multipart wrapping)."""
    request.max_content_length = transfer.MAX_IMPORT_BYTES + UPLOAD_OVERHEAD
    try:
        upload = request.files.get("file")
    except RequestEntityTooLarge:
        return render_bank(status=413, import_errors=[gettext(
            "The file is too large: the limit is %(limit)s MB. Nothing was imported.",
            limit=transfer.MAX_IMPORT_BYTES // 1024 // 1024)])
    if current_app.config["WTF_CSRF_ENABLED"]:  # what the app-wide check would have done
        csrf.protect()
    if upload is None or not upload.filename:
        return render_bank(status=400, import_errors=[gettext("Choose a CSV or JSON file to import")])
    report, errors, status = run_form(transfer.import_questions, {
        "content": upload.stream.read(transfer.MAX_IMPORT_BYTES + 1), "filename": upload.filename})
    if errors:
        return render_bank(status=status, import_errors=[gettext("Nothing was imported."), *errors])
    return redirect(url_for("pages.questions", imported=report.added,
                            duplicates=report.duplicates, linked=report.linked), code=303)


@bp.route("/", methods=["GET", "POST"])
def index():
    errors, status = [], 200
    chosen = [int(v) for v in request.form.getlist("question_ids") if v.isdigit()]
    title, pack = request.form.get("title", ""), request.form.get("pack", "")
    if request.method == "POST":
        created, errors, status = run_form(games.create_game, {
            "question_ids": chosen, "pack": pack or None, "title": title.strip() or None})
        if created is not None:
            remember_token(session, "host", created.code, created.host_token)
            return redirect(url_for("pages.host", code=created.code), code=303)
    listed = bank.list_questions(context(), {})
    if request.method == "GET" and not chosen:
        chosen = [q.id for q in listed[:4]]
    return render_template("index.html", questions=listed, chosen=chosen, title=title,
                           packs=packs.list_packs(context(), {}), pack=pack, errors=errors,
                           places=my_places()), status


def my_places() -> list:
    """The open games this browser hosts or plays (its session holds their tokens)."""
    places = []
    for role in ("host", "player"):
        for code, token in session.get(role, {}).items():
            try:
                place = hosts.my_place(context(token=token), {"code": code})
            except ServiceError:  # signed out, or the code now names another game
                continue
            if place.role == role and place.status == "open":
                places.append(place)
    return places


@bp.route("/join", methods=["GET", "POST"])
@bp.route("/join/<code>", methods=["GET", "POST"])
def join(code: str = ""):
    errors, status, bad_field, taken = [], 200, None, False
    code = request.form.get("code", code).strip().upper()
    name = request.form.get("name", "")
    if request.method == "GET" and code and token_for(session, "player", code):
        return redirect(url_for("pages.play", code=code))
    if request.method == "POST":
        try:
            if removed_here(code):
                raise Forbidden(gettext("You were removed from this game"))
            player = games.join_game(context(), {"code": code, "name": name})
        except ServiceError as exc:
            errors, status = [t(message) for message in exc.messages], exc.status
            # which input the message is about, so the page marks and focuses that one
            bad_field = ("code" if isinstance(exc, (NotFound, Conflict))
                         else "name" if isinstance(exc, (Invalid, Unprocessable)) else None)
            taken = isinstance(exc, Unprocessable)  # offer to ask the host to be that player again
        else:
            remember_token(session, "player", player.code, player.token)
            return redirect(url_for("pages.play", code=player.code), code=303)
    return render_template("join.html", code=code, name=name, errors=errors,
                           bad_field=bad_field, taken=taken), status


def game_started_at(code: str) -> str | None:
    """When the game now using this code was created: which game a removal was from."""
    try:
        return games.get_state(context(), {"code": code}).game.created_at.isoformat()
    except ServiceError:
        return None


def removed_here(code: str) -> bool:
    """Whether the host removed this browser's player from the game now using ``code`` (the
    signed session remembers it, whatever name the browser tries next)."""
    removed_from = removal_for(session, code)
    return removed_from is not None and removed_from == game_started_at(code)


def state_for(role: str | None, code: str) -> GameState | None:
    """The caller's state, or None when the browser holds no token for this game. When the host
    removed this browser's player, the session remembers it (and forgets the token)."""
    token = token_for(session, role, code) if role else None
    if role and not token:
        return None
    try:
        return games.get_state(context(token=token), {"code": code})
    except Unauthorized as exc:
        if role != "player" or exc.messages != [REMOVED_MESSAGE]:
            raise
        started = game_started_at(code)
        if started is not None:
            remember_removal(session, code, started)
        forget_token(session, role, code)
        return None


def render_live(template: str, role: str | None, code: str, *, errors=(), status: int = 200,
                typed: dict | None = None, panel: Callable[[GameState], dict] | None = None):
    """A live page (or with ``?partial=1`` just its panel) for ``role``; ``panel`` adds what
    that page alone shows, worked out from the caller's state."""
    try:
        state = state_for(role, code)
    except Unauthorized:
        if role == "host":  # another host signed this browser out (revoked its key)
            if not request.args.get("partial"):
                forget_token(session, "host", code)
            abort(401, gettext("This browser is no longer a host of this game: another host signed it out."))
        if role != "player":
            raise
        # another browser became this player (a rejoin the host allowed): this one is signed out.
        # The live panel's script then loads the page, which forgets the token and says so once.
        if not request.args.get("partial"):
            forget_token(session, "player", code)
        return render_template("signed_out.html", code=code.strip().upper()), 401
    if state is None:
        if role == "player" and removed_here(code):
            return render_template("removed.html", code=code.upper(), message=t(REMOVED_MESSAGE)), 403
        if role == "player":
            return redirect(url_for("pages.join", code=code.upper()))
        abort(403, gettext("This browser is not the host of this game"))
    if request.args.get("partial"):
        template = "_" + template  # just the live panel, for the page's script to swap in
    return render_template(template, state=state, game=state.game, round=state.game.round,
                           errors=list(errors), typed=typed or {},
                           join_url=join_url(state.game.code),
                           **(panel(state) if panel else {})), status


def player_panel(state: GameState) -> dict:
    """The player's own picks by question, how many were right once scored, where they stand,
    and the crowd split once locked: all of a size that does not grow with the lobby."""
    round_ = state.game.round
    mine = {p.question_id: p.answer for p in (round_.my_picks or [])} if round_ else {}
    right = sum(1 for q in round_.questions if q.answer and mine.get(q.id) == q.answer) if round_ else 0
    shares = {q.id: crowd_shares(round_, q)[0] for q in round_.questions} if round_ and round_.split else {}
    return {"my": mine, "right": right, "saved": bool(request.args.get("saved")), "shares": shares,
            **standings_panel(state)}


@bp.route("/play/<code>")
def play(code):
    return render_live("play.html", "player", code, panel=player_panel)


@bp.route("/play/<code>/picks", methods=["POST"])
def play_picks(code):
    answers = answers_from_form(request.form)
    # the round the page showed: a form sent after the host moved on is refused (409), not
    # counted in the next round
    _, errors, status = run_form(submit_picks, {"code": code, "answers": answers,
                                                "round": request.form.get("round") or None},
                                 token_for(session, "player", code))
    if errors:
        return render_live("play.html", "player", code, errors=errors, status=status,
                           typed={a["question_id"]: a["answer"] for a in answers},
                           panel=player_panel)
    return redirect(url_for("pages.play", code=code.upper(), saved=1), code=303)


# Players (and standings) the host page lists at once; ``?players=N`` pages the roster on.
HOST_PAGE = 200


def roster_offset() -> int:
    """The host page's ``?players=`` offset: a whole multiple of its page, anything else is 0."""
    offset = request.args.get("players", 0, type=int)
    return offset - offset % HOST_PAGE if 0 <= offset <= 2**31 - 1 else 0


def host_panel(code: str) -> Callable[[GameState], dict]:
    """What only the host page shows: a page of the roster (who has picked, to rename or
    remove) and of the standings, the bank questions not yet in the game, and those players'
    picks in the current round as table rows (one cell per question)."""
    def panel(state: GameState) -> dict:
        in_game = {q.id for q in state.game.questions}
        choices = [q for q in bank.list_questions(context(), {}) if q.id not in in_game]
        roster = games.list_players(context(), {"code": code, "limit": HOST_PAGE, "offset": roster_offset()})
        board = games.get_leaderboard(context(), {"code": code, "limit": HOST_PAGE})
        try:
            picks = rounds.get_round_picks(context(token=token_for(session, "host", code)),
                                           {"code": code})
        except ServiceError:
            picks = None
        rows = []
        if picks is not None and state.game.round is not None:
            shown = {p.id for p in roster.players}
            for player in picks.players:
                if player.player_id in shown:
                    theirs = {a.question_id: a.answer for a in player.picks}
                    rows.append((player.name, [theirs.get(q.id, "—") for q in state.game.round.questions]))
        link = cohost_link(code)
        return {"bank_choices": choices, "round_picks": picks, "pick_rows": rows,
                "roster": roster, "roster_pages": roster_pages(roster.offset, roster.total),
                "host_board": board, "more_ranked": max(0, board.total - len(board.standings)),
                "rejoins": rejoin.list_rejoins(context(), {"code": code}).requests,
                "cohost_url": link, "cohost_qr": qr_data_uri(link) if link else None}
    return panel


def roster_pages(offset: int, total: int) -> dict | None:
    """The roster's pager on the host page (None while everyone fits on one page)."""
    if total <= HOST_PAGE and offset == 0:
        return None
    return {"first": offset + 1, "last": min(total, offset + HOST_PAGE), "count": total,
            "previous": max(0, offset - HOST_PAGE) if offset else None,
            "next": offset + HOST_PAGE if offset + HOST_PAGE < total else None}


@bp.route("/host/<code>")
def host(code):
    return render_live("host.html", "host", code, panel=host_panel(code))


# action in the form's URL -> (use case, its request from the form)
HOST_ACTIONS: dict[str, tuple[UseCase, Callable[[MultiDict[str, str]], dict]]] = {
    "rounds": (rounds.start_round, lambda form: {"contenders": contenders_from_form(form),
                                                 **seconds_from_form(form)}),
    "lock": (rounds.lock_round, lambda form: {}),
    "cancel": (round_controls.cancel_round, lambda form: {}),
    "reopen": (round_controls.reopen_round, lambda form: {}),
    "extend": (timer.extend_round, seconds_from_form),
    "score": (rounds.score_round, lambda form: {"answers": answers_from_form(form)}),
    "questions": (games.add_game_question, question_from_form),
    "end": (games.end_game, lambda form: {}),
    "rejoin-approve": (rejoin.approve_rejoin, lambda form: {"id": form.get("request_id", "")}),
    "rejoin-deny": (rejoin.deny_rejoin, lambda form: {"id": form.get("request_id", "")}),
}


# action on one player -> (use case, its request from the form)
PLAYER_ACTIONS: dict[str, tuple[UseCase, Callable[[MultiDict[str, str]], dict]]] = {
    "rename": (players.rename_player, lambda form: {"name": form.get("name", "")}),
    "remove": (players.remove_player, lambda form: {}),
}


def run_host_action(code: str, use_case: UseCase, data: dict, typed: dict):
    _, errors, status = run_form(use_case, {"code": code, **data}, token_for(session, "host", code))
    if errors:
        return render_live("host.html", "host", code, errors=errors, status=status,
                           typed=typed, panel=host_panel(code))
    return redirect(url_for("pages.host", code=code.upper()), code=303)


@bp.route("/host/<code>/<action>", methods=["POST"])
def host_action(code, action):
    if action not in HOST_ACTIONS:
        abort(404)
    use_case, read_form = HOST_ACTIONS[action]
    return run_host_action(code, use_case, read_form(request.form), request.form.to_dict())


@bp.route("/host/<code>/players/<int:player_id>/<action>", methods=["POST"])
def player_action(code, player_id, action):
    if action not in PLAYER_ACTIONS:
        abort(404)
    use_case, read_form = PLAYER_ACTIONS[action]
    # what was typed belongs to this player's form only
    typed = {"player_id": player_id, f"{action}_name": request.form.get("name", "")}
    return run_host_action(code, use_case, {"player_id": player_id, **read_form(request.form)}, typed)


# What fits on a projector at any size (static/app.css sizes the screen by the viewport, so
# these counts fit 720p and 4K alike); the rest is summed up as "+N more".
SCREEN_TOP = 10        # standings shown (on phones too)
SCREEN_NAMES = 20      # newest names in the lobby
SCREEN_QUESTIONS = 4   # questions of a round
SCREEN_REJOINS = 1     # names of players asking to get back in
SCREEN_SPLIT_ROWS = 16  # lines of the crowd split: a question's line, then its contenders' bars


def questions_shown(round_: RoundOut) -> int:
    """How many of the round's questions fit; once locked each brings a bar per contender
    (two to a line from four contenders on, see static/app.css)."""
    if round_.state == "open":
        return SCREEN_QUESTIONS
    contenders = len(round_.contenders)
    lines = 1 + (contenders if contenders < 4 else (contenders + 1) // 2)
    return max(1, min(SCREEN_QUESTIONS, SCREEN_SPLIT_ROWS // lines))


def movement(standing: Standing, shown: bool) -> dict | None:
    """How a standing moved since the previous board: ``{kind, text, label}`` for the template
    (▲2 up, ▼1 down, = same, new); None before there is a previous board to compare with."""
    if not shown:
        return None
    before = standing.previous_rank
    if before is None:
        return {"kind": "new", "text": gettext("new"), "label": gettext("new on the board")}
    if before > standing.rank:
        return {"kind": "up", "text": f"▲{before - standing.rank}",
                "label": gettext("up %(places)s", places=before - standing.rank)}
    if before < standing.rank:
        return {"kind": "down", "text": f"▼{standing.rank - before}",
                "label": gettext("down %(places)s", places=standing.rank - before)}
    return {"kind": "same", "text": "=", "label": gettext("same place")}


def standing_rows(standings: list[Standing], shown: bool) -> list[dict]:
    return [{"s": s, "move": movement(s, shown)} for s in standings]


def crowd_shares(round_: RoundOut, question: RoundQuestionOut) -> tuple[list[dict], int]:
    """One question's split as (per contender ``{contender, count, percent, right}``, votes)."""
    counts = (round_.split or {}).get(question.id, {})
    votes = sum(counts.values())
    return [{"contender": c, "count": counts.get(c, 0), "right": c == question.answer,
             "percent": round(100 * counts.get(c, 0) / votes) if votes else 0}
            for c in round_.contenders], votes


def ordinal(n: int, language: str = "en") -> str:
    """1st, 2nd, 3rd, 4th, 11th, 12th, 13th, 21st, 101st, 111th; in German 1., 2., 3. (the
    catalog cannot hold a rule per number, so the language's own rule is here)."""
    if language == "de":
        return f"{n}."
    suffix = "th" if 10 <= n % 100 <= 20 else {1: "st", 2: "nd", 3: "rd"}.get(n % 10, "th")
    return f"{n}{suffix}"


def standings_panel(state: GameState) -> dict:
    """A phone's leaderboard: the top rows, then the player's own line when it is below them,
    and where the player stands ("3rd of 28", moved since the previous board). Everyone is
    ranked, so the standings number ``player_count``; the state holds only the top of them."""
    board, own, ranked = state.leaderboard[:SCREEN_TOP], state.standing, state.game.player_count
    moved = any(s.previous_rank is not None for s in (*board, *([own] if own else [])))
    below = own is not None and own.player_id not in {s.player_id for s in board}
    return {
        "top": standing_rows(board, moved),
        "own_row": standing_rows([own], moved)[0] if own is not None and below else None,
        "more_ranked": max(0, ranked - len(board) - below),
        "standing": None if own is None else {"ordinal": ordinal(own.rank, current_language()), "of": ranked,
                                              "move": movement(own, moved)},
    }


def screen_panel(state: GameState) -> dict:
    """The projector's view of the state: the phase, and only as much of each list as fits."""
    game, round_, board = state.game, state.game.round, state.leaderboard
    phase = "ended" if game.status == "ended" else round_.state if round_ else "lobby"
    # a previous board to compare with: the top 10 of one shows it (only players who joined
    # since are new on it, and a top 10 of only those is a room that nearly all came late)
    moved = any(s.previous_rank is not None for s in board)
    questions: list[dict] = []
    shown = 0
    if round_ is not None:
        shown = questions_shown(round_)
        for question in round_.questions[:shown]:
            shares, votes = crowd_shares(round_, question) if round_.split else ([], 0)
            questions.append({"q": question, "shares": shares, "votes": votes,
                              "called": next((x["count"] for x in shares if x["right"]), 0)})
    newest = [p.name for p in reversed(game.players[-SCREEN_NAMES:])]  # the newest, by id
    waiting = rejoin.list_rejoins(context(), {"code": game.code}).requests if phase != "ended" else []
    return {
        "qr": qr_data_uri(join_url(game.code)),
        "phase": phase,
        "player_count": game.player_count,
        "newest_names": newest,
        "more_names": game.player_count - len(newest),
        "picked_count": round_.picked_count if round_ else 0,
        "questions": questions,
        "more_questions": max(0, len(round_.questions) - shown) if round_ else 0,
        "top": standing_rows(board[:SCREEN_TOP], moved),
        "more_ranked": max(0, game.player_count - SCREEN_TOP),
        "podium": board[:3],
        "rejoin_names": [r.name for r in waiting[:SCREEN_REJOINS]],
        "more_rejoins": max(0, len(waiting) - SCREEN_REJOINS),
    }


@bp.route("/screen/<code>")
def screen(code):
    return render_live("screen.html", None, code, panel=screen_panel)
