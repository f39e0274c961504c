"""ASGI middleware, one per file: request ids and logging, body limits, CORS."""
