"""moto behind a real socket, without moto's server extra (Flask): a small HTTP server that hands each request to
moto's in-process request router, so another interpreter can point AWS_ENDPOINT_URL at it and import nothing of
moto. The service is read from the request's SigV4 credential scope, as AWS's own endpoints would know it."""

from __future__ import annotations

import re
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

_SCOPE = re.compile(r"Credential=[^/]+/\d{8}/([a-z0-9-]+)/([a-z0-9-]+)/aws4_request")
_HOST_PREFIX = {"ses": "email"}
_GLOBAL = {"iam", "sts"}


def aws_url(authorization: str, path: str) -> str:
    """The AWS URL a request signed with this Authorization header was meant for."""
    found = _SCOPE.search(authorization)
    if found is None:
        raise ValueError("request is not SigV4-signed")
    region, service = found.groups()
    host = (
        f"{service}.amazonaws.com"
        if service in _GLOBAL
        else f"{_HOST_PREFIX.get(service, service)}.{region}.amazonaws.com"
    )
    return f"https://{host}{path}"


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    # The headers and the body leave in two writes: with Nagle's algorithm on, the body waits for the client to
    # acknowledge the headers, which it delays by up to 40 ms (delayed ACK), so every call took ~45 ms instead of ~4
    disable_nagle_algorithm = True

    def log_message(self, format: str, *args: Any) -> None:
        return

    def _answer(self) -> None:
        from botocore.awsrequest import AWSPreparedRequest
        from botocore.compat import HTTPHeaders
        from moto.core.botocore_stubber import BotocoreStubber

        body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
        url = aws_url(self.headers.get("Authorization", ""), self.path)
        headers = HTTPHeaders()
        for key, value in self.headers.items():
            headers[key] = value
        if "Host" in headers:
            headers.replace_header("Host", url.split("/")[2])
        request = AWSPreparedRequest(method=self.command, url=url, headers=headers, body=body, stream_output=False)
        with self.server.lock:  # type: ignore[attr-defined]
            answer = BotocoreStubber().process_request(request)
        out_headers: dict[str, Any] = {}
        payload: str | bytes = b"no moto backend for " + url.encode()
        status = 404
        if answer is not None:
            status, out_headers, payload = answer
        data = payload.encode() if isinstance(payload, str) else (payload or b"")
        self.send_response(int(status))
        for key, value in (out_headers or {}).items():
            if key.lower() not in ("content-length", "transfer-encoding", "connection"):
                self.send_header(key, str(value))
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    do_GET = do_POST = do_PUT = do_DELETE = do_PATCH = do_HEAD = _answer


@contextmanager
def serve() -> Iterator[str]:
    """moto (fresh, in this process) at http://127.0.0.1:<port>; yields the endpoint URL."""
    from moto import mock_aws

    with mock_aws():
        server = ThreadingHTTPServer(("127.0.0.1", 0), _Handler)
        server.lock = threading.Lock()  # type: ignore[attr-defined]
        thread = threading.Thread(target=server.serve_forever, daemon=True)
        thread.start()
        try:
            yield f"http://127.0.0.1:{server.server_address[1]}"
        finally:
            server.shutdown()
            server.server_close()
            thread.join()
