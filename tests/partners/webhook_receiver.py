"""A real HTTP receiver on loopback for webhook tests (and the webhook bench).

Records every request (path, headers, body, time) and answers from a per-path script of
replies (status, headers, delay, or held until the test releases it), then 200 once the
script is used up.
"""

import http.server
import threading
import time
from collections import defaultdict, deque
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field


@dataclass(frozen=True)
class Reply:
    status: int = 200
    headers: dict[str, str] = field(default_factory=dict)
    body: bytes = b"ok"
    delay: float = 0.0
    release: threading.Event | None = None  # answer only once the test sets it (30 s at most)


@dataclass(frozen=True)
class Received:
    path: str
    headers: dict[str, str]
    body: bytes
    at: float  # time.time() when the request arrived
    monotonic: float


class Receiver:
    def __init__(self) -> None:
        self.requests: list[Received] = []
        self._script: dict[str, deque[Reply]] = defaultdict(deque)
        self._lock = threading.Lock()
        self.port = 0

    def url(self, path: str = "/hook") -> str:
        return f"http://127.0.0.1:{self.port}{path}"

    def reply(self, path: str, *replies: Reply) -> None:
        with self._lock:
            self._script[path].extend(replies)

    def fail(self, path: str, times: int, status: int = 500) -> None:
        self.reply(path, *[Reply(status=status, body=b"receiver down")] * times)

    def on(self, path: str = "/hook") -> list[Received]:
        with self._lock:
            return [r for r in self.requests if r.path == path]

    def _next_reply(self, path: str) -> Reply:
        with self._lock:
            queue = self._script[path]
            return queue.popleft() if queue else Reply()

    def _record(self, received: Received) -> None:
        with self._lock:
            self.requests.append(received)


def _handler_for(receiver: Receiver) -> type[http.server.BaseHTTPRequestHandler]:
    class Handler(http.server.BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"  # keep-alive, as a pooled client expects

        def do_POST(self) -> None:
            length = int(self.headers.get("Content-Length") or 0)
            body = self.rfile.read(length)
            receiver._record(
                Received(
                    path=self.path,
                    headers={k.lower(): v for k, v in self.headers.items()},
                    body=body,
                    at=time.time(),
                    monotonic=time.monotonic(),
                )
            )
            reply = receiver._next_reply(self.path)
            if reply.delay:
                time.sleep(reply.delay)
            if reply.release is not None:
                reply.release.wait(timeout=30)
            self.send_response(reply.status)
            for name, value in reply.headers.items():
                self.send_header(name, value)
            self.send_header("Content-Length", str(len(reply.body)))
            self.end_headers()
            self.wfile.write(reply.body)

        def log_message(self, format: str, *args: object) -> None:
            pass

    return Handler


@contextmanager
def running_receiver() -> Iterator[Receiver]:
    receiver = Receiver()
    httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _handler_for(receiver))
    httpd.daemon_threads = True
    receiver.port = httpd.server_address[1]
    thread = threading.Thread(target=httpd.serve_forever, args=(0.05,), daemon=True)
    thread.start()
    try:
        yield receiver
    finally:
        httpd.shutdown()
        httpd.server_close()
