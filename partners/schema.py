from django_scopes import scopes_disabled
from drf_spectacular.generators import SchemaGenerator


class ScopeFreeSchemaGenerator(SchemaGenerator):
    """Builds the OpenAPI schema from metadata only, so scoped managers may be introspected freely."""

    def get_schema(self, request=None, public=False):
        with scopes_disabled():
            return super().get_schema(request=request, public=public)
