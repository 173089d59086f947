"""HTML pages: thin form adapters over the same use cases as the JSON API."""
from __future__ import annotations

from flask import Blueprint, redirect, render_template, request, url_for

from . import bank
from .errors import ServiceError
from .runtime import context


def run_form(use_case, data: dict, token: str | None = None):
    """Run a use case with form input; returns (result, errors). Validation and service
    failures become messages for the page rather than error responses."""
    try:
        return use_case(context(token=token), data), []
    except ServiceError as exc:
        return None, exc.messages


def blueprint() -> Blueprint:
    bp = Blueprint("pages", __name__)

    @bp.route("/questions", methods=["GET", "POST"])
    def questions():
        errors, body, status = [], "", 200
        if request.method == "POST":
            body = request.form.get("body", "")
            created, errors = run_form(bank.create_question, {"body": body})
            if created is not None:
                return redirect(url_for("pages.questions", added=created.id), code=303)
            status = 400
        listed = bank.list_questions(context(), {})
        return render_template("questions.html", questions=listed, errors=errors, body=body,
                               added=request.args.get("added", type=int)), status

    return bp
