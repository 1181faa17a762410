# syntax=docker/dockerfile:1
# Two images from one source tree:
#   docker build --target operator -t ghcr.io/benchgate/operator:0.2.0 .   (no torch, small)
#   docker build --target workload -t ghcr.io/benchgate/workload:0.2.0 .   (torch+CUDA, NVML)
# Base images are pinned to an exact Python patch release and Debian release; pin them by
# digest as well in your registry mirror (`python:3.11.11-slim-bookworm@sha256:...`).
# tests/unit/test_dockerfile.py checks what can be checked without a Docker engine.

# The release version, stamped into both images' labels; tests/unit/test_version.py checks
# it matches pyproject.toml, `benchgate --version` and the chart's appVersion.
ARG BENCHGATE_VERSION=0.2.0

# ---- build: one wheel of the project (pure Python; hatchling needs no compiler) -------
# sandbox/ (the local API stand-in, `benchgate sandbox`) is not copied: no image ships it.
FROM python:3.11.11-slim-bookworm AS build
ENV PIP_NO_CACHE_DIR=1 PIP_DISABLE_PIP_VERSION_CHECK=1
WORKDIR /src
COPY pyproject.toml README.md ./
COPY operator/ operator/
COPY workloads/ workloads/
RUN python -m pip wheel --no-deps --wheel-dir /wheels .

# ---- operator dependencies: a venv without the workloads extra (no torch, no NVML) -----
FROM python:3.11.11-slim-bookworm AS operator-venv
ENV PIP_NO_CACHE_DIR=1 PIP_DISABLE_PIP_VERSION_CHECK=1
COPY --from=build /wheels /wheels
RUN python -m venv /opt/benchgate \
 && /opt/benchgate/bin/pip install /wheels/benchgate-*.whl \
 && ! /opt/benchgate/bin/python -c "import torch" 2>/dev/null \
 && ! /opt/benchgate/bin/python -c "import benchgate_sandbox" 2>/dev/null

# ---- workload dependencies: CUDA torch from the PyTorch index, then the workloads extra -
FROM python:3.11.11-slim-bookworm AS workload-venv
ARG TORCH_VERSION=2.13.0
ARG TORCH_CUDA=cu128
ENV PIP_NO_CACHE_DIR=1 PIP_DISABLE_PIP_VERSION_CHECK=1
COPY --from=build /wheels /wheels
# torch first, from the CUDA wheel index, so the `workloads` extra finds it satisfied
# and pip never swaps it for another build.
RUN python -m venv /opt/benchgate \
 && /opt/benchgate/bin/pip install --index-url https://download.pytorch.org/whl/${TORCH_CUDA} torch==${TORCH_VERSION} \
 && WHEEL=$(ls /wheels/benchgate-*.whl) \
 && /opt/benchgate/bin/pip install "${WHEEL}[workloads]" \
 && /opt/benchgate/bin/python -c "import torch, pynvml; assert torch.version.cuda, 'torch has no CUDA'"

# ---- operator image --------------------------------------------------------------------
FROM python:3.11.11-slim-bookworm AS operator
ARG BENCHGATE_VERSION
LABEL org.opencontainers.image.title="benchgate operator" \
      org.opencontainers.image.version="${BENCHGATE_VERSION}" \
      org.opencontainers.image.source="https://github.com/benchgate/benchgate" \
      org.opencontainers.image.licenses="Apache-2.0"
ENV PATH=/opt/benchgate/bin:$PATH PYTHONUNBUFFERED=1 PYTHONDONTWRITEBYTECODE=1
COPY --from=operator-venv /opt/benchgate /opt/benchgate
# A numeric non-root user, so Kubernetes' runAsNonRoot can verify it.
USER 65532:65532
EXPOSE 8000 8080
ENTRYPOINT ["benchgate"]
CMD ["operator", "--metrics-port=8000", "--liveness=http://0.0.0.0:8080/healthz", "--all-namespaces"]

# ---- workload image (the default image suites use) ----------------------------------
FROM python:3.11.11-slim-bookworm AS workload
ARG BENCHGATE_VERSION
LABEL org.opencontainers.image.title="benchgate workload" \
      org.opencontainers.image.version="${BENCHGATE_VERSION}" \
      org.opencontainers.image.source="https://github.com/benchgate/benchgate" \
      org.opencontainers.image.licenses="Apache-2.0"
ENV PATH=/opt/benchgate/bin:$PATH PYTHONUNBUFFERED=1 PYTHONDONTWRITEBYTECODE=1 \
    NVIDIA_DRIVER_CAPABILITIES=compute,utility
COPY --from=workload-venv /opt/benchgate /opt/benchgate
USER 65532:65532
ENTRYPOINT ["benchgate-workload"]
CMD ["run", "--size", "tiny", "--replicate", "pod-0", "--repetitions", "3"]
