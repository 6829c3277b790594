"""The CPU this process runs on: model, cores and the vector extensions that change which kernels
are fast (AVX2, AVX-512, VNNI, bfloat16, AMX). The encoder keys its measured precision choice on
it, and every benchmark prints it with its figures, since a speed-up measured on one kind of CPU
may vanish on another."""

from __future__ import annotations

import functools
import os
import platform
from pathlib import Path

ISA = {
    "avx2": "AVX2",
    "fma": "FMA",
    "avx512f": "AVX-512",
    "avx512_vnni": "AVX-512 VNNI",
    "avx_vnni": "AVX-VNNI",
    "avx512_bf16": "AVX-512 BF16",
    "amx_tile": "AMX",
}


@functools.cache
def cpu_info() -> dict:
    model, flags = platform.processor() or platform.machine(), set()
    try:
        with open("/proc/cpuinfo", encoding="utf-8") as f:
            for line in f:
                key, _, value = line.partition(":")
                if key.strip() == "model name" and model in ("", platform.machine(), platform.processor()):
                    model = value.strip()
                elif key.strip() == "flags":
                    flags = set(value.split())
                    break
    except OSError:
        pass
    return {
        "cpu": model,
        "cores": os.cpu_count(),
        "physical_cores": physical_cores(),
        "isa": [name for flag, name in ISA.items() if flag in flags],
    }


def physical_cores() -> int | None:
    """Cores that do not share execution units: two SMT siblings run one core's vector units, so
    parallel encoding scales with these, not with ``os.cpu_count()``. None where Linux does not say."""
    seen = set()
    for f in Path("/sys/devices/system/cpu").glob("cpu[0-9]*/topology/thread_siblings_list"):
        try:
            seen.add(f.read_text().strip())
        except OSError:
            return None
    return len(seen) or None


def cpu_key() -> str:
    """Names this kind of CPU: a measurement made on it holds on any machine with the same key."""
    info = cpu_info()
    return f"{info['cpu']}|{info['cores']}|{info['physical_cores']}|{','.join(info['isa'])}"


def cpu_report() -> str:
    info = cpu_info()
    phys = info["physical_cores"]
    cores = f"{info['cores']} cores" + (f" ({phys} physical)" if phys and phys != info["cores"] else "")
    return f"CPU: {info['cpu']}, {cores}; ISA: {', '.join(info['isa']) or 'no AVX2'}"


if __name__ == "__main__":
    print(cpu_report())
