"""A suite's per-workload repetitions reach the Job's workload process (they were ignored
by the operator while `benchgate run` honoured them)."""

from __future__ import annotations

from workload_helpers import document_from_stdout, workload_process

from benchgate.api.suite import JobTemplateSpec, WorkloadSpec
from benchgate.domain.jobs import JobRequest, Owner, build_jobs


def test_the_job_passes_a_workloads_own_repetitions() -> None:
    request = JobRequest(
        run_name="r",
        namespace="ns",
        suite_name="s",
        platform_key="0" * 64,
        platform_class="cpu",
        image="img:1",
        size="tiny",
        workloads=(WorkloadSpec("determinism", repetitions=3), WorkloadSpec("numerics_probe")),
        repetitions=2,
        replicates=3,
        nodes=("n",),
        concurrency=1,
        timeout_seconds=600,
        template=JobTemplateSpec(),
        node_selector={},
        owner=Owner("v", "K", "r", "u"),
    )
    (job,) = build_jobs(request)
    args = job["spec"]["template"]["spec"]["containers"][0]["args"]
    assert "--workload-repetitions" in args
    assert args[args.index("--workload-repetitions") + 1] == "determinism=3"
    assert args[args.index("--repetitions") + 1] == "2"


def test_the_workload_process_runs_a_workload_with_its_own_repetitions() -> None:
    proc = workload_process(
        [
            "run",
            "--size",
            "tiny",
            "--repetitions",
            "2",
            "--workload",
            "determinism",
            "--workload-repetitions",
            "determinism=3",
        ]
    )
    doc = document_from_stdout(proc)
    counts = {key: len(m.values) for key, m in doc.metrics()}
    assert counts and set(counts.values()) == {3}, counts


def test_a_malformed_workload_repetitions_is_a_usage_error() -> None:
    proc = workload_process(["run", "--workload-repetitions", "determinism=0"])
    assert proc.returncode == 2 and "NAME=R" in proc.stderr, proc.stderr
