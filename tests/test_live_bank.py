"""Against the real server (`python app.py` on eventlet): new questions reach Socket.IO watchers.

The database is shared with other tests, so each test makes uniquely named questions."""
import queue
import uuid

import pytest
import requests
import socketio

pytestmark = pytest.mark.live

WAIT = 5.0  # seconds a pushed event may take


def unique_body(label: str) -> str:
    return f"{label} {uuid.uuid4().hex[:10]}?"


@pytest.fixture
def bank_watcher(live_server):
    """Factory of connected Socket.IO clients (no auth: they watch the bank); each has ``.received``."""
    clients = []

    def connect():
        client = socketio.Client(reconnection=False)
        client.received = queue.Queue()
        client.on("newquestion", lambda data: client.received.put(data))
        client.connect(live_server.url, transports=["websocket"], wait_timeout=10)
        clients.append(client)
        return client

    yield connect
    for client in clients:
        client.disconnect()


def next_question_with(client, body: str) -> dict:
    """The ``newquestion`` carrying ``body``; others (from other tests) are passed over."""
    while True:
        try:
            data = client.received.get(timeout=WAIT)
        except queue.Empty:
            pytest.fail(f"no newquestion for {body!r} within {WAIT}s")
        if data.get("body") == body:
            return data


def test_new_question_is_pushed_to_a_watcher(live_server, bank_watcher):
    watcher = bank_watcher()
    body = unique_body("Pushed")

    response = requests.post(f"{live_server.url}/api/questions", json={"body": body}, timeout=10)

    assert response.status_code == 201, response.text
    created = response.json()
    assert next_question_with(watcher, body) == created


def test_every_watcher_receives_the_new_question(live_server, bank_watcher):
    watchers = [bank_watcher(), bank_watcher()]
    body = unique_body("Broadcast")

    created = requests.post(f"{live_server.url}/api/questions", json={"body": body}, timeout=10).json()

    for watcher in watchers:
        assert next_question_with(watcher, body)["id"] == created["id"]


def test_question_created_on_one_process_reaches_watchers_of_another(start_server, redis_url):
    """Two server processes sharing Redis: an event emitted by one is delivered by the other."""
    first = start_server(env={"REDIS_URL": redis_url})
    second = start_server(env={"REDIS_URL": redis_url})
    watcher = socketio.Client(reconnection=False)
    received = queue.Queue()
    watcher.on("newquestion", received.put)
    watcher.connect(second.url, transports=["websocket"], wait_timeout=10)
    try:
        body = unique_body("Across processes")
        created = requests.post(f"{first.url}/api/questions", json={"body": body}, timeout=10).json()
        watcher.received = received
        assert next_question_with(watcher, body) == created
    finally:
        watcher.disconnect()
        first.stop()
        second.stop()


def test_live_list_contains_what_was_created(live_server):
    body = unique_body("Listed")
    created = requests.post(f"{live_server.url}/api/questions", json={"body": body}, timeout=10).json()

    listed = requests.get(f"{live_server.url}/api/questions", timeout=10).json()

    assert created in listed


def test_live_errors_are_json(live_server):
    response = requests.post(f"{live_server.url}/api/questions", json={"body": " "}, timeout=10)
    assert response.status_code == 400
    assert response.json() == {"errors": ["Body is required"]}


def test_questions_page_loads_the_vendored_socketio_client(live_server):
    page = requests.get(f"{live_server.url}/questions", timeout=10)
    assert page.status_code == 200
    assert 'src="/static/vendor/socket.io/socket.io.min.js"' in page.text

    script = requests.get(f"{live_server.url}/static/vendor/socket.io/socket.io.min.js", timeout=10)
    assert script.status_code == 200
    assert "javascript" in script.headers["Content-Type"]
    assert len(script.content) > 10_000


def test_live_health(live_server):
    response = requests.get(f"{live_server.url}/healthz", timeout=10)
    with_redis = {"redis": "ok"} if "REDIS_URL" in live_server.env and live_server.env["REDIS_URL"] else {}
    assert response.json() == {"status": "ok", "database": "ok", **with_redis}
