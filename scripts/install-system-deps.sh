#!/usr/bin/env bash
# Installs the real peers the end-to-end tests run against: Prometheus (with promtool)
# and Alertmanager from Debian; and what looks at a `benchgate report` as a person does:
# headless Chromium takes a screenshot, Tesseract reads the metric names back. Each
# package gets an apt-get install of its own because installing them together fails on
# some Debian images (conflicting service setup).
set -euo pipefail
missing=()
command -v promtool >/dev/null 2>&1 || missing+=(prometheus)
command -v prometheus-alertmanager >/dev/null 2>&1 || missing+=(prometheus-alertmanager)
command -v chromium >/dev/null 2>&1 || missing+=(chromium)
command -v tesseract >/dev/null 2>&1 || missing+=(tesseract-ocr)
[ ${#missing[@]} -eq 0 ] && exit 0
if [ "$(id -u)" != 0 ] || ! command -v apt-get >/dev/null 2>&1; then
  echo "warning: ${missing[*]} missing and cannot be installed here (need root and apt-get);" \
       "the tests that need them will fail" >&2
  exit 0
fi
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
for pkg in "${missing[@]}"; do
  apt-get install -y -qq "$pkg" >/dev/null
done
