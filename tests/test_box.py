"""How the grader reads the box it runs on (cores, memory) and chooses --jobs from it."""
from pathlib import Path

import pytest

from autograder import box as boxes
from autograder.box import Box, jobs, read


def write(folder: Path, files: dict) -> Path:
    for name, text in files.items():
        path = folder / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)
    return folder


@pytest.fixture(autouse=True)
def no_forced_jobs(monkeypatch):
    monkeypatch.delenv("AEKIT_JOBS", raising=False)


def proc(tmp_path, total_kb=16 * 1024 * 1024):
    return write(tmp_path / "proc", {"meminfo": f"MemTotal:       {total_kb} kB\nMemFree:  12 kB\n"})


def test_cgroup_v2_quota_and_memory_limit_win_over_the_host(tmp_path):
    cgroup = write(tmp_path / "cg", {"cpu.max": "150000 100000\n", "memory.max": str(1536 << 20) + "\n"})
    found = read(cgroup, proc(tmp_path), affinity=8)
    assert found == Box(cpus=1, memory_mb=1536)
    assert jobs(found) == 1


def test_cgroup_v2_without_limits_falls_back_to_affinity_and_meminfo(tmp_path):
    cgroup = write(tmp_path / "cg", {"cpu.max": "max 100000\n", "memory.max": "max\n"})
    found = read(cgroup, proc(tmp_path, 3 * 1024 * 1024), affinity=4)
    assert found == Box(cpus=4, memory_mb=3072)
    assert jobs(found) == 2


def test_cgroup_v1_files(tmp_path):
    cgroup = write(tmp_path / "cg", {"cpu,cpuacct/cpu.cfs_quota_us": "400000\n",
                                     "cpu,cpuacct/cpu.cfs_period_us": "100000\n",
                                     "memory/memory.limit_in_bytes": str(768 << 20) + "\n"})
    assert read(cgroup, proc(tmp_path), affinity=16) == Box(cpus=4, memory_mb=768)
    unlimited = write(tmp_path / "cg1", {"cpu/cpu.cfs_quota_us": "-1\n", "cpu/cpu.cfs_period_us": "100000\n",
                                         "memory/memory.limit_in_bytes": "9223372036854771712\n"})
    assert read(unlimited, proc(tmp_path), affinity=2) == Box(cpus=2, memory_mb=16384)


def test_no_cgroup_and_no_meminfo(tmp_path):
    assert read(tmp_path / "none", tmp_path / "none", affinity=3) == Box(cpus=3, memory_mb=0)
    assert jobs(Box(cpus=3, memory_mb=0)) == 2   # nothing known about memory: cores decide


def test_jobs_follow_cores_and_memory():
    two = boxes.memory_needed_mb(2)
    assert jobs(Box(cpus=2, memory_mb=two)) == 2
    assert jobs(Box(cpus=2, memory_mb=two - 1)) == 1     # one training's memory short
    assert jobs(Box(cpus=1, memory_mb=64000)) == 1       # one core
    assert jobs(Box(cpus=1, memory_mb=512)) == 1         # never fewer than one
    assert jobs(Box(cpus=8, memory_mb=64000), most=2) == 2


def test_aekit_jobs_forces_the_choice(monkeypatch):
    monkeypatch.setenv("AEKIT_JOBS", "1")
    assert jobs(Box(cpus=8, memory_mb=64000)) == 1
    monkeypatch.setenv("AEKIT_JOBS", "two")
    with pytest.raises(ValueError, match="AEKIT_JOBS"):
        jobs(Box(cpus=8, memory_mb=64000))


def test_cgroup_v2_folder_named_in_proc_self_cgroup(tmp_path):
    cgroup = write(tmp_path / "cg", {"cpu.max": "max 100000\n", "memory.max": "max\n",
                                     "grading.slice/job-7/cpu.max": "100000 100000\n",
                                     "grading.slice/job-7/memory.max": str(2048 << 20) + "\n"})
    proc_dir = proc(tmp_path)
    write(proc_dir, {"self/cgroup": "0::/grading.slice/job-7\n"})
    assert read(cgroup, proc_dir, affinity=4) == Box(cpus=1, memory_mb=2048)
    write(proc_dir, {"self/cgroup": "0::/\n"})   # inside a container: its own cgroup is the root
    assert read(cgroup, proc_dir, affinity=4) == Box(cpus=4, memory_mb=16384)


def test_cgroup_v1_folder_named_in_proc_self_cgroup(tmp_path):
    cgroup = write(tmp_path / "cg", {"memory/memory.limit_in_bytes": "9223372036854771712\n",
                                     "memory/batch/42/memory.limit_in_bytes": str(1024 << 20) + "\n",
                                     "cpu,cpuacct/batch/42/cpu.cfs_quota_us": "200000\n",
                                     "cpu,cpuacct/batch/42/cpu.cfs_period_us": "100000\n"})
    proc_dir = proc(tmp_path)
    write(proc_dir, {"self/cgroup": "4:memory:/batch/42\n2:cpu,cpuacct:/batch/42\n0::/\n"})
    assert read(cgroup, proc_dir, affinity=8) == Box(cpus=2, memory_mb=1024)
