# One image for every process of the hub: web (the default command), worker and the
# one-shot migration (compose.yaml, docs/deploy.md). No secret is baked in: every setting
# comes from the environment at run time.
FROM python:3.11-slim

ENV PYTHONUNBUFFERED=1 \
    PYTHONDONTWRITEBYTECODE=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1

WORKDIR /opt/mycelium-hub
COPY pyproject.toml constraints.txt README.md ./
COPY hub ./hub
COPY plugins ./plugins
# the hub and every plugin of the repository, at the versions the project tests
RUN pip install -c constraints.txt . \
        ./plugins/mycelium-dropbox \
        ./plugins/mycelium-gcal \
        ./plugins/mycelium-slack \
        ./plugins/mycelium-smtp \
        ./plugins/mycelium-zapier \
    && useradd --system --uid 10001 --user-group --home-dir /var/lib/hub --create-home hub

USER hub
WORKDIR /var/lib/hub
# HUB_VAR_DIR holds no state in production (every setting is given) but Dropbox's upload
# spool, which web and workers must share (compose.yaml mounts one volume there); writable
ENV HUB_HOST=0.0.0.0 \
    HUB_PORT=8000 \
    HUB_VAR_DIR=/var/lib/hub/var
EXPOSE 8000

HEALTHCHECK --interval=15s --timeout=5s --start-period=30s --retries=3 \
    CMD ["python", "-c", "import os, urllib.request; urllib.request.urlopen('http://127.0.0.1:' + os.environ['HUB_PORT'] + '/api/health/ready', timeout=4)"]

CMD ["hub", "serve", "--host", "0.0.0.0", "--port", "8000"]
