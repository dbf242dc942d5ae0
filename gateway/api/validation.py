"""Running the `inputs` models on a Flask request, and answering their errors
in the API's error shape.

Contract (the OpenAPI document says the same):

- headers and query parameters: 400, `code` from the model's ERROR_CODES
  (else `invalid_parameter`), `field` naming the header or parameter;
- the body: 415 unless application/json; 413 over `BODY_MAX` bytes, whether
  declared (Content-Length) or sent (chunked); 400 `malformed_json` when it
  does not parse; 422 when it parses but the model refuses it: `unknown_field`
  for an undeclared field, else `invalid_<field>`, `field` the dotted path.

One error is reported per request: an unknown field first, else the first
field in the model's order, so an answer names what to fix first.
"""
from __future__ import annotations

from typing import TypeVar

from flask import request
from pydantic import BaseModel, ValidationError
from werkzeug.wsgi import get_input_stream

from gateway.api.errors import ApiError

M = TypeVar("M", bound=BaseModel)

BODY_MAX = 16 * 1024


def headers(model: type[M]) -> M:
    """The request's headers named by `model`'s aliases, validated; 400 otherwise."""
    names = [info.alias or name for name, info in model.model_fields.items()]
    present = {name: request.headers[name] for name in names if name in request.headers}
    return _params(model, present)


def query(model: type[M]) -> M:
    """The query parameters `model` declares; an empty value counts as absent."""
    present = {name: value for name in model.model_fields
               if (value := request.args.get(name)) not in (None, "")}
    return _params(model, present)


def body(model: type[M]) -> M:
    """The JSON body validated by `model` (see the module's contract)."""
    if not request.is_json:
        raise ApiError(415, "unsupported_media_type", "send the body as application/json")
    try:
        return model.model_validate_json(read_body())
    except ValidationError as exc:
        raise _body_error(model, exc) from None


def read_body() -> bytes:
    """The raw body, never more than BODY_MAX + 1 bytes read.

    A chunked body has no Content-Length: it is read up to one byte past the
    limit, which tells a body over the limit (413) from one at it. A chunked
    body the server did not decode (no `wsgi.input_terminated`) cannot be read
    safely: 411, send a Content-Length.
    """
    length = request.content_length
    if length is not None and length > BODY_MAX:
        raise _too_large()
    if length is None and not request.environ.get("wsgi.input_terminated") \
            and "chunked" in request.headers.get("Transfer-Encoding", "").lower():
        raise ApiError(411, "length_required", "send the body with a Content-Length")
    stream = get_input_stream(request.environ, max_content_length=None)
    chunks, size = [], 0
    while size <= BODY_MAX:
        chunk = stream.read(BODY_MAX + 1 - size)
        if not chunk:
            break
        chunks.append(chunk)
        size += len(chunk)
    if size > BODY_MAX:
        raise _too_large()
    return b"".join(chunks)


def _too_large() -> ApiError:
    return ApiError(413, "request_entity_too_large",
                    f"the body is over {BODY_MAX // 1024} KiB")


def _params(model: type[M], values: dict) -> M:
    try:
        return model.model_validate(values)
    except ValidationError as exc:
        error = _first(exc)
        field = _path(error["loc"])
        missing, invalid = model.ERROR_CODES.get(field, ("invalid_parameter",) * 2)
        code = missing if error["type"] == "missing" else invalid
        raise ApiError(400, code, _message(model, error), field=field) from None


def _body_error(model: type[BaseModel], exc: ValidationError) -> ApiError:
    error = _first(exc)
    loc, kind = error["loc"], error["type"]
    if kind == "json_invalid":
        return ApiError(400, "malformed_json", "the body is not valid JSON")
    if not loc:
        return ApiError(422, "invalid_body", "the body must be a JSON object")
    field = _path(loc)
    if kind == "extra_forbidden":
        return ApiError(422, "unknown_field", f"unknown field {field}", field=field)
    return ApiError(422, f"invalid_{loc[-1]}", _message(model, error), field=field)


def _first(exc: ValidationError) -> dict:
    errors = exc.errors(include_url=False, include_input=False)
    return min(errors, key=lambda e: (e["type"] not in ("json_invalid", "extra_forbidden"),
                                      errors.index(e)))


def _path(loc: tuple) -> str:
    return ".".join(str(part) for part in loc)


def _message(model: type[BaseModel], error: dict) -> str:
    """`<field>: <its description>` (the rule, as the document states it), or
    pydantic's own message for a field without one."""
    description = _description(model, error["loc"])
    return f"{_path(error['loc'])}: {description or error['msg']}"


def _description(model: type[BaseModel] | None, loc: tuple) -> str | None:
    info = None
    for part in loc:
        fields = model.model_fields if model is not None else {}
        info = next((f for name, f in fields.items() if part in (name, f.alias)), None)
        if info is None:
            return None
        annotation = info.annotation
        model = annotation if isinstance(annotation, type) and issubclass(annotation,
                                                                          BaseModel) else None
    return info.description if info is not None else None
