"""A local Kubernetes sandbox: an API server stand-in with a kubelet that runs pods as
local processes, a minimal scheduler, the Job controller and garbage collection.

It exists so that the operator is tested as it runs in a cluster: the real kopf and the
official client, unmodified, over real HTTP. Tests use `benchgate_sandbox.testing.Sandbox`;
people use `benchgate sandbox`. Its own conformance tests live in tests/sandbox/.
"""
