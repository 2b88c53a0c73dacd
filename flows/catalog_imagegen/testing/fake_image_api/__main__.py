"""``python -m catalog_imagegen.testing.fake_image_api``: serve the fake until SIGINT or SIGTERM.

Prints ``READY http://127.0.0.1:PORT/v1`` as its first stdout line once it accepts requests (with
``--port 0`` the port is a free one); logs go to stderr.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import socket

import uvicorn

from catalog_imagegen.testing.fake_image_api.app import FakeImageApp
from catalog_imagegen.testing.fake_image_api.config import FAULT_NAMES, FakeImageApiConfig
from catalog_imagegen.testing.fake_image_api.servers import LOOPBACK, bind_loopback, uvicorn_config


def main(argv: list[str] | None = None) -> None:
    args = _parser().parse_args(argv)
    changes = json.loads(args.config_json) if args.config_json else {}
    config_fields = FakeImageApiConfig.__dataclass_fields__
    changes |= {k: v for k, v in vars(args).items() if k in config_fields and v is not None}
    app = FakeImageApp(FakeImageApiConfig().with_changes(changes))
    sock = bind_loopback(args.port, args.host)
    server = uvicorn.Server(uvicorn_config(app, log_level=args.log_level))
    asyncio.run(_serve_announcing(server, sock))


async def _serve_announcing(server: uvicorn.Server, sock: socket.socket) -> None:
    serving = asyncio.create_task(server.serve(sockets=[sock]))
    while not server.started:
        if serving.done():
            await serving
            return
        await asyncio.sleep(0.01)
    host, port = sock.getsockname()[:2]
    print(f"READY http://{host}:{port}/v1", flush=True)
    await serving


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m catalog_imagegen.testing.fake_image_api",
        description="A fake OpenAI-compatible images API for tests and benchmarks.",
    )
    parser.add_argument("--host", default=LOOPBACK)
    parser.add_argument("--port", type=int, default=0, help="0 picks a free port (the default)")
    parser.add_argument("--log-level", default="warning")
    parser.add_argument("--latency", dest="latency_s", type=float, help="seconds per request")
    parser.add_argument("--rpm", dest="rpm_limit", type=int, help="images per sliding minute")
    parser.add_argument("--seed", type=int, help="seed of the fault draws")
    for name in FAULT_NAMES:
        flag = "--" + name.replace("_", "-")
        parser.add_argument(flag, dest=name, type=float, help="probability per request")
    parser.add_argument("--truncation", choices=["cut_json", "early_close"])
    parser.add_argument("--moderation-pattern", help="regex: matching prompts get 400")
    parser.add_argument("--quota-exhausted", action="store_const", const=True)
    parser.add_argument("--api-key", help="require 'Authorization: Bearer KEY'")
    parser.add_argument("--wrong-colour-pattern", help="regex: matching prompts get --wrong-colour")
    parser.add_argument("--wrong-colour", help="palette name or #hex")
    parser.add_argument("--same-image-for-all", action="store_const", const=True)
    parser.add_argument("--response-style", choices=["b64", "url"])
    parser.add_argument("--image-bytes", type=int, help="pad every image to about this size")
    parser.add_argument(
        "--config-json", help="any FakeImageApiConfig fields as a JSON object; flags override it"
    )
    return parser


if __name__ == "__main__":
    main()
