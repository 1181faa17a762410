"""Types shared across benchgate: the result document, CRD constants, spec dataclasses."""
