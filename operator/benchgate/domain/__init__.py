"""Pure decision logic: plain data in, plain data out; no Kubernetes, no clock reads."""
