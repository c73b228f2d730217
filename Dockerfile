# One image for the exporter, the stress daemon and the demo services: the entrypoint is
# ghost-exporter; `docker run --entrypoint ghost-stress ...` or `ghost-demo` runs the others.
FROM python:3.11-slim

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1

WORKDIR /src
COPY pyproject.toml README.md ./
COPY exporter/ exporter/
RUN pip install '.[speed]' \
    && useradd --system --uid 10001 --user-group --no-create-home --shell /usr/sbin/nologin ghost \
    && cd / && rm -rf /src

WORKDIR /
USER ghost

EXPOSE 9798

# slim images have no curl: ask /-/healthy with the standard library.
HEALTHCHECK --interval=15s --timeout=5s --start-period=10s --retries=3 \
    CMD ["python", "-c", "import urllib.request; urllib.request.urlopen('http://127.0.0.1:9798/-/healthy', timeout=4)"]

ENTRYPOINT ["ghost-exporter"]
CMD ["--config.file=/etc/ghost/ghost.yml", "--web.listen-address=:9798"]
