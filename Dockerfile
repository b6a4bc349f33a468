# SessionStory in one image: the server, its CLI and its prebuilt browser bundles.
#
#   docker build -t sessionstory .
#   docker run -p 8000:8000 -v sessionstory-data:/data sessionstory
#
# Nothing is fetched at run time: the JS bundles are built here (stage `js`), the
# Python package and its dependencies are installed into a venv (stage `build`), and
# the final stage is the slim Python base plus that venv. `make docker-test` builds it
# with podman and drives it (scripts/docker-test.sh).

# --- The browser bundles (SDK, player, dashboard charts), with esbuild ---
FROM node:20-bookworm-slim AS js
WORKDIR /src
COPY package.json package-lock.json ./
RUN npm ci --no-audit --no-fund
COPY scripts ./scripts
COPY sessionstory ./sessionstory
RUN node scripts/build.mjs

# --- The Python package and its dependencies, in a self-contained venv ---
# (which keeps no pip or setuptools in the end: nothing is installed at run time)
FROM python:3.11-slim-bookworm AS build
# llama-cpp-python (the insights' local model) compiles llama.cpp from source: a C/C++
# toolchain in this stage only, and the Makefile's portable x86-64 flags (AVX2, no
# AVX-512), so that the image runs on other CPUs than the one that built it.
ARG CMAKE_ARGS="-DGGML_NATIVE=OFF -DGGML_AVX=ON -DGGML_AVX2=ON -DGGML_FMA=ON -DGGML_F16C=ON -DGGML_AVX512=OFF"
RUN apt-get update \
 && apt-get install -y --no-install-recommends build-essential \
 && rm -rf /var/lib/apt/lists/*
WORKDIR /src
ENV PIP_DISABLE_PIP_VERSION_CHECK=1
RUN python -m venv /opt/sessionstory
COPY pyproject.toml ./
# Optional extras of pyproject.toml: `--build-arg EXTRAS=cluster` adds the object store and
# Postgres clients a cluster node needs (docs/cluster/compose.yaml); the default image has none.
ARG EXTRAS=""
# The dependencies first, in a layer of their own (built from an empty stand-in of the
# package and of the README it names), so that a change to the code or the docs does not
# download them, or compile llama.cpp, again.
RUN mkdir sessionstory && touch sessionstory/__init__.py README.md \
 && /opt/sessionstory/bin/pip install --no-cache-dir ".${EXTRAS:+[$EXTRAS]}" \
 && /opt/sessionstory/bin/pip uninstall --yes sessionstory \
 && rm -rf sessionstory build ./*.egg-info README.md
COPY README.md ./
COPY sessionstory ./sessionstory
COPY --from=js /src/sessionstory/web/static/dist ./sessionstory/web/static/dist
# The bundles must land inside the installed package (pyproject's package-data), or the
# server would answer 404 for /sdk.js and the player: fail the build if they did not.
RUN /opt/sessionstory/bin/pip install --no-cache-dir --no-deps . \
 && cd / \
 && /opt/sessionstory/bin/python -c "import pathlib, sessionstory; \
d = pathlib.Path(sessionstory.__file__).parent / 'web/static/dist'; \
missing = [n for n in ('sdk.js', 'sdk.esm.js', 'player.js', 'player.css', 'charts.js', 'heatmap.js', 'htmx.min.js', 'swagger/swagger-ui-bundle.js') if not (d / n).is_file()]; \
missing += [] if list(d.glob('player-chunks/screenshot-*.js')) else ['player-chunks/screenshot-*.js']; \
assert not missing, f'not in the installed package: {missing}'; print('bundles installed in', d)" \
 && /opt/sessionstory/bin/python -m pip uninstall --yes --quiet pip setuptools

# --- The image: slim Python, the venv, a non-root user, data in /data ---
FROM python:3.11-slim-bookworm
LABEL org.opencontainers.image.title="SessionStory" \
      org.opencontainers.image.description="Self-hosted session replay in one process"
# libgomp1: llama.cpp's OpenMP runtime (a library, not a build tool).
RUN apt-get update \
 && apt-get install -y --no-install-recommends libgomp1 \
 && rm -rf /var/lib/apt/lists/* \
 && groupadd --system --gid 10001 sessionstory \
 && useradd --system --uid 10001 --gid 10001 --home-dir /data --no-create-home \
            --shell /usr/sbin/nologin sessionstory \
 && mkdir -p /data \
 && chown 10001:10001 /data
COPY --from=build /opt/sessionstory /opt/sessionstory
ENV PATH=/opt/sessionstory/bin:$PATH \
    PYTHONUNBUFFERED=1 \
    SESSIONSTORY_DATA_DIR=/data \
    SESSIONSTORY_HOST=0.0.0.0 \
    SESSIONSTORY_PORT=8000
USER 10001:10001
WORKDIR /data
VOLUME ["/data"]
EXPOSE 8000
# No curl in slim images: Python's urllib asks /healthz (a non-2xx answer raises, so exits 1).
HEALTHCHECK --interval=30s --timeout=5s --start-period=20s --retries=3 \
  CMD ["python", "-c", "import os, urllib.request as u; u.urlopen('http://127.0.0.1:%s/healthz' % os.environ.get('SESSIONSTORY_PORT', '8000'), timeout=4)"]
ENTRYPOINT ["sessionstory"]
CMD ["serve"]
