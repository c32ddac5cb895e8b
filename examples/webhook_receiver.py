"""A minimal webhook receiver: it checks each delivery with ``verify()`` and prints its event.

    WEBHOOK_SECRET=whsec_... python examples/webhook_receiver.py --port 8000

It answers 204 to a delivery it verified and 400 to one it refused. Deliveries come at least
once: a repeat (the same ``webhook-id``) is answered 204 again but not acted on twice. Only the
standard library and ``reseller_plans.webhooks`` (``pip install 'reseller-plans[webhooks]'``);
behind a web framework the steps are the same: the raw body, the headers, ``verify()``.
"""

from __future__ import annotations

import argparse
import os
from http.server import BaseHTTPRequestHandler, HTTPServer

from reseller_plans.webhooks import WebhookVerificationError, verify

SECRET = os.environ.get("WEBHOOK_SECRET", "")
seen: set[str] = set()  # a real receiver keeps the ids it acted on in its database


class Receiver(BaseHTTPRequestHandler):
    def do_POST(self) -> None:
        body = self.rfile.read(int(self.headers.get("content-length", "0")))  # the raw bytes
        try:
            event = verify(body, self.headers, SECRET)
        except WebhookVerificationError as error:
            print(f"refused ({error.reason.value}): {error}")
            self.answer(400)
            return
        if event["id"] in seen:
            print(f"{event['id']}: a repeat, not acted on again")
        else:
            seen.add(event["id"])
            print(f"{event['type']} {event['id']} at {event['timestamp']}: {event['data']}")
        self.answer(204)  # at once: do slow work after answering

    def answer(self, status: int) -> None:
        self.send_response(status)
        self.send_header("content-length", "0")
        self.end_headers()

    def log_message(self, format: str, *args: object) -> None:
        pass  # the lines above say what happened


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--port", type=int, default=8000, help="0 picks a free one")
    parser.add_argument("--max-requests", type=int, help="stop after this many requests")
    args = parser.parse_args()
    if not SECRET:
        parser.error("set WEBHOOK_SECRET to the endpoint's whsec_ secret")
    server = HTTPServer(("127.0.0.1", args.port), Receiver)
    print(f"listening on http://127.0.0.1:{server.server_address[1]}/", flush=True)
    with server:
        if args.max_requests is None:
            server.serve_forever()
        else:
            for _ in range(args.max_requests):
                server.handle_request()


if __name__ == "__main__":
    main()
