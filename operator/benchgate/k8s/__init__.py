"""The only place that talks to the Kubernetes API (official client, async-safe wrappers)."""
