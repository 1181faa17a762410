"""Write the example's user model: a small convolutional classifier as TorchScript.

    python examples/prediction/make_model.py [PATH]

(default PATH: /tmp/benchgate-examples/classifier.pt)

The weights come from a fixed seed, so the file is the same on every machine with the
same torch. In a cluster the file must be at the suite's `model.path` inside the
verification image (e.g. `COPY classifier.pt /models/` in a Dockerfile FROM the benchgate
workload image); `benchgate run` and the sandbox read it from this machine.
"""

from __future__ import annotations

import sys
from pathlib import Path

import torch
from torch import nn

DEFAULT = Path("/tmp/benchgate-examples/classifier.pt")


def build() -> nn.Module:
    torch.manual_seed(11)
    return nn.Sequential(
        nn.Conv2d(3, 8, 3, padding=1),
        nn.ReLU(),
        nn.AdaptiveAvgPool2d(4),
        nn.Flatten(),
        nn.Linear(8 * 4 * 4, 10),
    ).eval()


def main() -> None:
    path = Path(sys.argv[1]) if len(sys.argv) > 1 else DEFAULT
    path.parent.mkdir(parents=True, exist_ok=True)
    torch.jit.save(torch.jit.script(build()), str(path))
    print(path)


if __name__ == "__main__":
    main()
