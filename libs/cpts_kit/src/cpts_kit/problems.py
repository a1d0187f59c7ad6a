"""RFC 9457 problem details for every error a service returns."""

from __future__ import annotations

import logging
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from sqlalchemy.exc import IntegrityError
from starlette.exceptions import HTTPException as StarletteHTTPException

log = logging.getLogger(__name__)

PROBLEM_JSON = "application/problem+json"

# Problem types are relative URI references documented in the README ("Errors").
TITLES = {
    400: "Bad request",
    401: "Unauthorized",
    403: "Forbidden",
    404: "Not found",
    405: "Method not allowed",
    409: "Conflict",
    413: "Payload too large",
    415: "Unsupported media type",
    422: "Unprocessable content",
    500: "Internal server error",
    503: "Service unavailable",
}


class Problem(Exception):
    """Raise from anywhere in a request to answer with problem+json."""

    def __init__(
        self,
        status: int,
        detail: str,
        *,
        type_: str | None = None,
        title: str | None = None,
        errors: list[dict[str, Any]] | None = None,
        headers: dict[str, str] | None = None,
        **extensions: Any,
    ) -> None:
        super().__init__(detail)
        self.status = status
        self.detail = detail
        self.type = type_ or f"/problems/{_slug(TITLES.get(status, 'error'))}"
        self.title = title or TITLES.get(status, "Error")
        self.errors = errors
        self.headers = headers
        self.extensions = extensions


def field_error(field: str, message: str, code: str, location: str = "body") -> dict[str, str]:
    """One entry of a problem's ``errors``, shaped like the request validation errors."""
    return {"location": location, "field": field, "message": message, "code": code}


def invalid(field: str, message: str, code: str, *, detail: str | None = None, location: str = "body") -> Problem:
    """A 422 validation problem about one field, for the rules pydantic cannot check alone."""
    return Problem(
        422,
        detail or f"{field}: {message}",
        type_="/problems/validation-error",
        errors=[field_error(field, message, code, location)],
    )


def not_found(what: str, ident: object) -> Problem:
    return Problem(404, f"{what} {ident} was not found", type_="/problems/not-found")


def problem_response(request: Request, problem: Problem) -> JSONResponse:
    body: dict[str, Any] = {
        "type": problem.type,
        "title": problem.title,
        "status": problem.status,
        "detail": problem.detail,
        "instance": request.url.path,
    }
    if problem.errors is not None:
        body["errors"] = problem.errors
    body.update(problem.extensions)
    request_id = getattr(request.state, "request_id", None)
    if request_id:
        body["request_id"] = request_id
    return JSONResponse(body, status_code=problem.status, media_type=PROBLEM_JSON, headers=problem.headers)


def validation_errors(exc: RequestValidationError) -> list[dict[str, Any]]:
    errors = []
    for err in exc.errors():
        loc = [str(part) for part in err.get("loc", ())]
        location = loc[0] if loc else "body"
        field = ".".join(loc[1:]) if len(loc) > 1 else location
        errors.append(
            {"location": location, "field": field, "message": err.get("msg", ""), "code": err.get("type", "")}
        )
    return errors


def install_problem_handlers(app: FastAPI) -> None:
    @app.exception_handler(Problem)
    async def _problem(request: Request, exc: Problem) -> JSONResponse:
        return problem_response(request, exc)

    @app.exception_handler(RequestValidationError)
    async def _validation(request: Request, exc: RequestValidationError) -> JSONResponse:
        errors = validation_errors(exc)
        fields = ", ".join(e["field"] for e in errors[:5])
        return problem_response(
            request,
            Problem(422, f"The request is invalid ({fields})", type_="/problems/validation-error", errors=errors),
        )

    @app.exception_handler(StarletteHTTPException)
    async def _http(request: Request, exc: StarletteHTTPException) -> JSONResponse:
        detail = exc.detail if isinstance(exc.detail, str) else TITLES.get(exc.status_code, "Error")
        headers = dict(exc.headers) if exc.headers else None
        return problem_response(request, Problem(exc.status_code, detail, headers=headers))

    @app.exception_handler(IntegrityError)
    async def _integrity(request: Request, exc: IntegrityError) -> JSONResponse:
        # A concurrent write won the race on a unique key; the caller may retry.
        log.info("integrity error: %s", exc.orig)
        return problem_response(
            request,
            Problem(409, "The request conflicts with a concurrent change; retry it", type_="/problems/conflict"),
        )

    @app.exception_handler(Exception)
    async def _unexpected(request: Request, exc: Exception) -> JSONResponse:
        log.exception("unhandled error")
        return problem_response(request, Problem(500, "An unexpected error occurred; it has been logged"))


def _slug(text: str) -> str:
    return text.lower().replace(" ", "-")
