"""The conformance suite every metadata store passes."""

__all__: list[str] = []
