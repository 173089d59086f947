"""The HTTP face of the use cases: method, path and status for each. The JSON adapter and
the OpenAPI document are both built from this one table."""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from ..core.usecase import Auth, UseCase
from ..game import bank, games, hosts, packs, picks, players, rejoin, round_controls, rounds, timer, transfer


@dataclass(frozen=True)
class Route:
    method: str
    path: str  # OpenAPI style: /api/games/{code}
    use_case: UseCase
    status: int = 200
    errors: tuple[int, ...] = ()  # beyond those implied by auth, input and the path
    # the success answer's media type, or for a route with several (a file in a chosen format)
    # each media type with what it holds: ``{"text/csv": str, "application/json": SomeModel}``
    media_type: str | dict[str, Any] = "application/json"

    def __post_init__(self):
        # reads are GETs with no body, writes are never GETs: the two are declared apart
        if self.use_case.mutable == (self.method == "GET"):
            raise ValueError(f"{self.method} {self.path}: method does not match a "
                             f"{'command' if self.use_case.mutable else 'query'}")

    @property
    def media_types(self) -> dict[str, Any]:
        if isinstance(self.media_type, dict):
            return self.media_type
        return {self.media_type: self.use_case.response if self.media_type == "application/json" else str}

    @property
    def path_params(self) -> list[str]:
        return [part[1:-1] for part in self.path.split("/") if part.startswith("{")]

    @property
    def flask_rule(self) -> str:
        return self.path.replace("{", "<").replace("}", ">")

    @property
    def error_statuses(self) -> list[int]:
        statuses = set(self.errors)
        if self.use_case.mutable or set(self.use_case.request.model_fields) - set(self.path_params):
            statuses.add(400)
        if self.use_case.mutable:
            statuses.add(413)
        if self.path_params:
            statuses.add(404)
        if set(self.path_params) - {"code"}:
            statuses.add(400)  # an id in the path that is no id
        if self.use_case.auth is not Auth.PUBLIC:
            statuses.update((401, 403))
        if self.use_case.rate_limit or self.method == "GET" or "code" in self.path_params:
            statuses.add(429)  # its own limit, the read limit, or too many unknown game codes
        return sorted(statuses)


ROUTES: list[Route] = [
    Route("GET", "/api/questions", bank.list_questions),
    Route("POST", "/api/questions", bank.create_question, status=201),
    Route("GET", "/api/packs", packs.list_packs),
    Route("POST", "/api/packs", packs.create_pack, status=201, errors=(409,)),
    Route("GET", "/api/packs/{slug}", packs.get_pack),
    Route("POST", "/api/packs/{slug}/questions", packs.add_pack_question, status=201, errors=(409,)),
    Route("GET", "/api/packs/{slug}/export", transfer.export_pack,
          media_type={"application/json": transfer.PackFile, "text/csv": str}),
    Route("POST", "/api/games", games.create_game, status=201),
    Route("GET", "/api/games/{code}", games.get_game),
    Route("GET", "/api/games/{code}/state", games.get_state),
    Route("GET", "/api/games/{code}/players", games.list_players),
    Route("POST", "/api/games/{code}/players", games.join_game, status=201, errors=(409, 422)),
    Route("PATCH", "/api/games/{code}/players/{player_id}", players.rename_player, errors=(409, 422)),
    Route("DELETE", "/api/games/{code}/players/{player_id}", players.remove_player, errors=(409,)),
    Route("POST", "/api/games/{code}/questions", games.add_game_question, status=201, errors=(409,)),
    Route("POST", "/api/games/{code}/rounds", rounds.start_round, status=201, errors=(409,)),
    Route("GET", "/api/games/{code}/rounds/current", rounds.get_current_round),
    Route("PUT", "/api/games/{code}/rounds/current/picks", picks.submit_picks, errors=(409,)),
    Route("PATCH", "/api/games/{code}/rounds/current/picks", picks.merge_picks, errors=(409,)),
    Route("GET", "/api/games/{code}/rounds/current/picks", rounds.get_round_picks),
    Route("POST", "/api/games/{code}/rounds/current/lock", rounds.lock_round, errors=(409,)),
    Route("POST", "/api/games/{code}/rounds/current/score", rounds.score_round, errors=(409,)),
    Route("POST", "/api/games/{code}/rounds/current/cancel", round_controls.cancel_round, errors=(409,)),
    Route("POST", "/api/games/{code}/rounds/current/reopen", round_controls.reopen_round, errors=(409,)),
    Route("POST", "/api/games/{code}/rounds/current/extend", timer.extend_round, errors=(409,)),
    Route("GET", "/api/games/{code}/leaderboard", games.get_leaderboard),
    Route("POST", "/api/games/{code}/end", games.end_game),  # idempotent: never 409
    Route("GET", "/api/games/{code}/results.csv", games.results_csv, media_type="text/csv"),
    Route("POST", "/api/games/{code}/hosts", hosts.add_host, status=201, errors=(409,)),
    Route("DELETE", "/api/games/{code}/hosts/others", hosts.revoke_other_hosts),
    Route("POST", "/api/games/{code}/rejoin-requests", rejoin.ask_rejoin, status=202, errors=(409,)),
    Route("GET", "/api/games/{code}/rejoin-requests", rejoin.list_rejoins),
    # public to the wrapper: the request's own secret is checked by the use case (401)
    Route("GET", "/api/games/{code}/rejoin-requests/{id}", rejoin.get_rejoin, errors=(401,)),
    Route("POST", "/api/games/{code}/rejoin-requests/{id}/approve", rejoin.approve_rejoin, errors=(409,)),
    Route("POST", "/api/games/{code}/rejoin-requests/{id}/deny", rejoin.deny_rejoin, errors=(409,)),
]

