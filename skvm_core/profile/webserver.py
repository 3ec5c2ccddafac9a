"""A loopback HTTP server for tool.web instances (random free port, stopped after use).

Route kinds: a plain JSON document; `{"items": [...], "filter": key}` filtered by the query
parameter `key`; `{"pages": [[...], ...]}` paginated with `?page=N` and a `next` field.
"""

from __future__ import annotations

import json
import threading
import urllib.parse
from collections.abc import Iterator
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any


def _answer(route: Any, query: dict[str, list[str]]) -> tuple[int, Any]:
    if isinstance(route, dict) and "pages" in route:
        pages = route["pages"]
        try:
            page = int(query.get("page", ["1"])[0])
        except ValueError:
            return 400, {"error": "page must be an integer"}
        if not 1 <= page <= len(pages):
            return 404, {"error": f"no page {page}"}
        return 200, {
            "page": page,
            "values": pages[page - 1],
            "next": page + 1 if page < len(pages) else None,
        }
    if isinstance(route, dict) and "filter" in route:
        key = route["filter"]
        wanted = query.get(key, [None])[0]
        items = [item for item in route["items"] if wanted is None or item.get(key) == wanted]
        return 200, {"total": len(items), "items": items}
    return 200, route


@contextmanager
def serve_routes(routes: dict[str, Any]) -> Iterator[str]:
    """Serve `routes` on 127.0.0.1; yields the base URL ending in '/'."""

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:  # noqa: N802 (http.server's name)
            parsed = urllib.parse.urlsplit(self.path)
            route = routes.get(parsed.path)
            status, body = (
                (404, {"error": "not found"})
                if route is None
                else _answer(route, urllib.parse.parse_qs(parsed.query))
            )
            data = json.dumps(body).encode()
            self.send_response(status)
            self.send_header("content-type", "application/json")
            self.send_header("content-length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        def log_message(self, *args: Any) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, name="skvm-profile-web", daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}/"
    finally:
        server.shutdown()
        server.server_close()
        thread.join()
