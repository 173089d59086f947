"""The state rules live on the models: each transition checks its rule and raises the domain
error, without a database (cosmicpython's ``Product.allocate``)."""
from datetime import datetime, timedelta

import pytest

from questions.core.errors import Conflict, Invalid
from questions.core.models import Game, GameStatus, Round, RoundQuestion, RoundState

NOW = datetime(2026, 11, 26, 20, 0)


def a_round(state: RoundState = RoundState.OPEN) -> Round:
    return Round(number=1, state=state, contenders=["Serral", "Maru"],
                 questions=[RoundQuestion(question_id=7, position=0), RoundQuestion(question_id=9, position=1)])


def test_a_round_locks_once():
    round_ = a_round()
    round_.lock(NOW)
    assert (round_.state, round_.locked_at) == (RoundState.LOCKED, NOW)
    with pytest.raises(Conflict, match="Round 1 is already locked"):
        round_.lock(NOW)


def test_an_open_round_is_not_scored_and_takes_picks():
    round_ = a_round()
    round_.require_open(NOW)
    with pytest.raises(Conflict, match="Lock the round"):
        round_.score([(7, "Maru"), (9, "Serral")], NOW)
    with pytest.raises(Conflict, match="not scored yet"):
        round_.require_finished()


def test_scoring_marks_every_question_in_the_hosts_spelling_and_can_be_redone():
    round_ = a_round(RoundState.LOCKED)
    with pytest.raises(Conflict, match="Picks are locked"):
        round_.require_open(NOW)
    with pytest.raises(Invalid, match="missing 9"):
        round_.score([(7, "maru")], NOW)
    round_.score([(7, "maru"), (9, "SERRAL")], NOW)
    assert [rq.answer for rq in round_.questions] == ["Maru", "Serral"]
    assert (round_.state, round_.scored_at, round_.finished) == (RoundState.SCORED, NOW, True)
    round_.score([(7, "Serral"), (9, "Serral")], NOW)
    assert [rq.answer for rq in round_.questions] == ["Serral", "Serral"]


def test_answers_must_be_contenders_of_questions_in_the_round_once_each():
    with pytest.raises(Invalid) as refused:
        a_round().contender_answers([(8, "Maru"), (7, "Maru"), (7, "Serral"), (9, "Clem")])
    assert refused.value.messages == ["Question 8 is not in this round", "Question 7 is answered twice",
                                      "Clem is not a contender in this round"]


def test_a_game_ends_once_and_then_refuses_changes():
    game = Game(code="ACDE", status=GameStatus.OPEN)
    game.require_open()
    game.end(NOW)
    assert (game.status, game.ended_at) == (GameStatus.ENDED, NOW)
    with pytest.raises(Conflict, match="has ended"):
        game.require_open()
    with pytest.raises(Conflict, match="has ended"):
        game.end(NOW)


def test_states_are_strings_for_json_and_templates():
    assert RoundState.SCORED == "scored" and f"{GameStatus.ENDED}" == "ended"


def test_a_round_is_cancelled_while_running_and_then_lets_the_next_one_start():
    for state in (RoundState.OPEN, RoundState.LOCKED):
        round_ = a_round(state)
        round_.cancel()
        assert (round_.state, round_.finished) == (RoundState.CANCELLED, True)
        with pytest.raises(Conflict, match="Round 1 is already cancelled"):
            round_.cancel()
        with pytest.raises(Conflict, match="Round 1 was cancelled"):
            round_.score([(7, "Maru"), (9, "Maru")], NOW)
    with pytest.raises(Conflict, match="re-score it"):
        a_round(RoundState.SCORED).cancel()


def test_only_a_locked_round_reopens_and_it_loses_its_timer():
    round_ = a_round(RoundState.LOCKED)
    round_.locked_at, round_.locks_at = NOW, NOW
    round_.reopen()
    assert (round_.state, round_.locked_at, round_.locks_at) == (RoundState.OPEN, None, None)
    for state in (RoundState.OPEN, RoundState.SCORED, RoundState.CANCELLED):
        with pytest.raises(Conflict, match=f"Round 1 is {state}, not locked"):
            a_round(state).reopen()


def test_picks_close_at_the_deadline_even_while_the_round_is_still_open():
    round_ = a_round()
    round_.extend(30, NOW)  # no timer yet: one from now
    assert round_.locks_at == NOW + timedelta(seconds=30)
    round_.extend(10, NOW + timedelta(seconds=5))  # added to the deadline, not to now
    assert round_.locks_at == NOW + timedelta(seconds=40)
    round_.require_open(NOW + timedelta(seconds=39.999))
    with pytest.raises(Conflict, match="Picks are locked"):
        round_.require_open(NOW + timedelta(seconds=40))
    with pytest.raises(Conflict, match="Round 1 is not open"):
        round_.extend(10, NOW + timedelta(seconds=40))
    assert round_.state == RoundState.OPEN
