"""The declaration benchgate reads to list and run this plugin's workload.

It imports nothing heavy: `benchgate-workload list` loads it without torch. The code that
needs torch lives in `model.py` and is imported only when the workload runs.
"""

from benchgate_workloads.api import WorkloadDef

WORKLOAD = WorkloadDef(
    name="example_classifier",
    run="benchgate_example_plugin.model:run",
    metrics=(
        "loss_at_step_[0-9]+",
        "loss_curve_steps_[0-9]+_[0-9]+",
        "final_loss",
        "train_step_ms",
        "samples_per_s",
        "outputs",
    ),
    description="Trains a small MLP classifier on synthetic data, then predicts a fixed set.",
)
