from django_scopes import scopes_disabled
from drf_spectacular.generators import SchemaGenerator


class ScopeFreeSchemaGenerator(SchemaGenerator):
    """Builds the OpenAPI schema from metadata only, so scoped managers may be introspected freely."""

    def get_schema(self, request=None, public=False):
        with scopes_disabled():
            return super().get_schema(request=request, public=public)


ERROR_DETAIL = {
    "type": "object",
    "properties": {"detail": {"type": "string"}},
    "required": ["detail"],
    "description": "One message that says what is wrong.",
}
VALIDATION_ERRORS = {
    "type": "object",
    "additionalProperties": {},
    "description": "Errors by field name (a list of messages, or errors by row index for lists), "
    "or `detail` with one message for the request as a whole.",
}

_COMMON = {
    "401": "Not signed in: no credentials, or an unknown or refused token.",
    "403": "Signed in, but not allowed to do this.",
    "429": "Too many requests; retry after the number of seconds in Retry-After.",
}
_WITH_ID = {"404": "No such object, or one of another partner (the same answer)."}
_WITH_QUERY = {"400": "A filter, ordering or page size is invalid; the body names the parameter."}
_PAGINATED = {"404": "The page does not exist (`Invalid page.`)."}
_WITH_BODY = {
    "400": "The body is invalid; the body names the field.",
    "413": "The request body is larger than the limit; the answer says the limit.",
    "415": "The body is not JSON (`Content-Type: application/json`).",
}


def document_error_answers(result, generator, request, public):
    """Every operation lists the error answers the whole API gives, with their JSON shape.

    Authentication, permissions, throttling, the JSON parser, filters and pagination answer the same
    way on every endpoint; writing them on each view would be as many chances to forget one.
    """
    components = result.setdefault("components", {}).setdefault("schemas", {})
    components.setdefault("ErrorDetail", ERROR_DETAIL)
    components.setdefault("ValidationErrors", VALIDATION_ERRORS)
    for path, operations in result.get("paths", {}).items():
        for method, operation in operations.items():
            if method not in ("get", "post", "put", "patch", "delete"):
                continue
            parameters = operation.get("parameters", [])
            answers = dict(_COMMON)
            if "{" in path:
                answers.update(_WITH_ID)
            if any(parameter.get("in") == "query" for parameter in parameters):
                answers.update(_WITH_QUERY)
            if any(parameter.get("in") == "query" and parameter.get("name") == "page" for parameter in parameters):
                answers.update(_PAGINATED)
            if "requestBody" in operation:
                answers.update(_WITH_BODY)
            responses = operation.setdefault("responses", {})
            for code, description in answers.items():
                responses.setdefault(code, {"description": description})
            for code, response in responses.items():
                if code.startswith(("4", "5")) and "content" not in response:
                    schema = "ValidationErrors" if code == "400" else "ErrorDetail"
                    response["content"] = {"application/json": {"schema": {"$ref": f"#/components/schemas/{schema}"}}}
    return result
