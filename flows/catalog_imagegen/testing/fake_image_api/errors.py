"""OpenAI's error answers: ``{"error": {"message", "type", "param", "code"}}`` with its headers.

Messages follow the real service's wording closely enough for a client that logs or matches them.
"""

from __future__ import annotations

import math
import secrets
from typing import Any

from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from catalog_imagegen.testing.fake_image_api.config import FakeImageApiConfig


class ApiError(Exception):
    """An answer in OpenAI's error shape: ``{"error": {"message", "type", "param", "code"}}``."""

    def __init__(
        self,
        status: int,
        message: str,
        *,
        type: str = "invalid_request_error",
        code: str | None = None,
        param: str | None = None,
        retry_after_s: float | None = None,
    ) -> None:
        super().__init__(message)
        self.status = status
        self.message = message
        self.type = type
        self.code = code
        self.param = param
        # Sent as Retry-After (whole seconds, rounded up) and retry-after-ms headers.
        self.retry_after_s = retry_after_s

    def to_json(self) -> dict[str, Any]:
        error = {"message": self.message, "type": self.type, "param": self.param, "code": self.code}
        return {"error": error}


def check_api_key(authorization: str, api_key: str | None) -> None:
    """Raise 401 unless ``authorization`` is ``Bearer <api_key>`` (no check without a key)."""
    if api_key is None or authorization == f"Bearer {api_key}":
        return
    given = authorization.removeprefix("Bearer").strip()
    if not given:
        message = "You didn't provide an API key. Send it in an 'Authorization: Bearer' header."
    else:
        shown = f"{given[:3]}{'*' * max(0, len(given) - 7)}{given[-4:]}"
        message = f"Incorrect API key provided: {shown}."
    raise ApiError(401, message, code="invalid_api_key")


def model_object(model: str, config: FakeImageApiConfig) -> dict[str, Any]:
    """What ``GET /v1/models/{model}`` answers for a served model; else 404 as OpenAI says it."""
    if model not in config.models:
        raise ApiError(
            404,
            f"The model '{model}' does not exist or you do not have access to it.",
            code="model_not_found",
        )
    answer: dict[str, Any] = {"id": model, "object": "model", "created": 1745193600}
    answer["owned_by"] = "system"
    if model in config.shut_down_models:
        answer["shutdown_date"] = "2026-10-23"
    return answer


def quota_exhausted() -> ApiError:
    return ApiError(
        429,
        "You exceeded your current quota, please check your plan and billing details. For more "
        "information on this error, read the docs: "
        "https://platform.openai.com/docs/guides/error-codes/api-errors.",
        type="insufficient_quota",
        code="insufficient_quota",
    )


def rate_limited(model: str, limit: int | None, n: int, wait_s: float) -> ApiError:
    return ApiError(
        429,
        f"Rate limit reached for {model} in organization org-fake on images per minute (IPM): "
        f"Limit {limit}, Requested {n}. Please try again in {wait_s:.3f}s.",
        type="requests",
        code="rate_limit_exceeded",
        retry_after_s=wait_s,
    )


def moderation_blocked() -> ApiError:
    return ApiError(
        400,
        "Your request was rejected by the safety system. If you believe this is an error, "
        "contact us at help.openai.com and include the request ID.",
        type="image_generation_user_error",
        code="moderation_blocked",
    )


def server_error(status: int) -> ApiError:
    if status == 503:
        return ApiError(503, "The server is overloaded or not ready yet.", type="server_error")
    return ApiError(
        status,
        "The server had an error while processing your request. Sorry about that!",
        type="server_error",
    )


def error_response(error: ApiError) -> Response:
    headers = {"x-request-id": request_id()}
    if error.retry_after_s is not None:
        headers["retry-after"] = str(max(1, math.ceil(error.retry_after_s)))
        headers["retry-after-ms"] = str(max(1, math.ceil(error.retry_after_s * 1000)))
    return JSONResponse(error.to_json(), status_code=error.status, headers=headers)


async def invalid_url(request: Request, error: Exception) -> Response:
    """Unknown paths and methods, answered as OpenAI does rather than with Starlette's text."""
    status = error.status_code if isinstance(error, HTTPException) else 500
    message = f"Invalid URL ({request.method} {request.url.path})"
    return JSONResponse(ApiError(status, message).to_json(), status_code=status)


def request_id() -> str:
    return f"req_{secrets.token_hex(16)}"
