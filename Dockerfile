# The landscape dashboard behind gunicorn.
FROM python:3.11-slim

ENV PYTHONDONTWRITEBYTECODE=1 PYTHONUNBUFFERED=1
WORKDIR /app

# Dependencies first: code changes do not invalidate this layer.
COPY requirements.txt .
RUN pip install --no-cache-dir -r requirements.txt

COPY app.py gunicorn.conf.py ./
COPY landscape ./landscape
COPY assets ./assets

# Results, job state and the generated secret key: a volume, writable by the app user.
RUN useradd --create-home --uid 1000 landscape && mkdir /data && chown landscape /data
ENV LANDSCAPE_CACHE_DIR=/data
VOLUME /data
USER 1000

EXPOSE 8050
HEALTHCHECK --interval=30s --timeout=5s --retries=3 \
    CMD ["python", "-c", "import urllib.request, sys; sys.exit(urllib.request.urlopen('http://127.0.0.1:8050/health', timeout=4).status != 200)"]
# The command the tests run (tests/servers.py); workers, threads and timeouts come
# from the environment (gunicorn.conf.py).
CMD ["gunicorn", "--config", "gunicorn.conf.py", "app:server"]
