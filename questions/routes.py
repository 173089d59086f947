"""The HTTP face of the use cases: method, path and status for each. The JSON adapter and
the OpenAPI document are both built from this one table."""
from __future__ import annotations

from dataclasses import dataclass

from . import bank
from .usecase import Auth, UseCase


@dataclass(frozen=True)
class Route:
    method: str
    path: str  # OpenAPI style: /api/games/{code}
    use_case: UseCase
    status: int = 200
    errors: tuple[int, ...] = ()  # beyond those implied by auth, input and the path
    media_type: str = "application/json"

    def __post_init__(self):
        # reads are GETs with no body, writes are never GETs: the two are declared apart
        if self.use_case.mutable == (self.method == "GET"):
            raise ValueError(f"{self.method} {self.path}: method does not match a "
                             f"{'command' if self.use_case.mutable else 'query'}")

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
        if self.use_case.auth is not Auth.PUBLIC:
            statuses.update((401, 403))
        if self.use_case.rate_limit:
            statuses.add(429)
        return sorted(statuses)


ROUTES: list[Route] = [
    Route("GET", "/api/questions", bank.list_questions),
    Route("POST", "/api/questions", bank.create_question, status=201),
]

