"""Verification workloads (torch, NVML) that run inside Jobs and under `benchgate run`."""
