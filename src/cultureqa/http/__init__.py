"""The HTTP adapter: the FastAPI app, its routers, middleware and uvicorn. The only package
(with cli.py) that imports FastAPI, Starlette or uvicorn."""
