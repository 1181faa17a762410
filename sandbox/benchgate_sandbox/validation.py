"""Custom resources against their CRD's structural schema: prune, default, validate.

The sandbox does not implement this itself: it uses the operator's
`benchgate.api.structural`, the one implementation of the API server's structural-schema
semantics in this project (openapi-schema-validator plus the x-kubernetes-* keywords and
CEL), so the sandbox refuses exactly what the operator's own suite validation refuses.
"""

from __future__ import annotations

from benchgate.api.cel import CelEngine
from benchgate.api.structural import JSON, Admission, StructuralSchema

__all__ = ["SchemaValidator"]


class SchemaValidator:
    """Compiled schemas of the CRD versions the store serves, sharing one CEL engine."""

    def __init__(self, cel: CelEngine) -> None:
        self.cel = cel
        self._compiled: dict[int, tuple[JSON, StructuralSchema]] = {}

    def _schema(self, schema: JSON) -> StructuralSchema:
        # Keyed by identity: a ResourceType holds its schema dict for as long as it is served.
        entry = self._compiled.get(id(schema))
        if entry is None or entry[0] is not schema:
            entry = (schema, StructuralSchema(schema, self.cel))
            self._compiled[id(schema)] = entry
        return entry[1]

    def register(self, schema: JSON | None) -> None:
        """Compile the schema (and its CEL rules) at install, so problems are known then."""
        if schema:
            self._schema(schema)

    def admit(self, schema: JSON | None, obj: JSON, old: JSON | None) -> Admission:
        """Prune and default `obj` in place; return causes (empty = valid)."""
        if not schema:
            return Admission()
        return self._schema(schema).admit(obj, old)
