"""Regenerate the node types of ``src/airbricks/workspace/data/clusters_catalog.json`` (run from the repository).

The families and sizes are the instance types Databricks offers on AWS, Azure and GCP (cores and memory as the
clouds publish them); the JSON is what ``clusters/list-node-types`` answers per cloud. Edit the tables here,
run ``python scripts/node_catalogue.py``, commit both.
"""

from __future__ import annotations

import json
from pathlib import Path

CATALOG = Path(__file__).resolve().parents[1] / "src/airbricks/workspace/data/clusters_catalog.json"
AWS_SIZES = {
    "large": 2,
    "xlarge": 4,
    "2xlarge": 8,
    "4xlarge": 16,
    "8xlarge": 32,
    "12xlarge": 48,
    "16xlarge": 64,
    "24xlarge": 96,
}
#: family -> (category, GiB per core, local NVMe disks (count, GB per 4 cores) or None, sizes)
AWS = {
    "m4": ("General Purpose", 4, None, ["large", "xlarge", "2xlarge", "4xlarge", "16xlarge"]),
    "m5": (
        "General Purpose",
        4,
        None,
        ["large", "xlarge", "2xlarge", "4xlarge", "8xlarge", "12xlarge", "16xlarge", "24xlarge"],
    ),
    "m5d": (
        "General Purpose",
        4,
        (1, 150),
        ["large", "xlarge", "2xlarge", "4xlarge", "8xlarge", "12xlarge", "16xlarge", "24xlarge"],
    ),
    "m6i": (
        "General Purpose",
        4,
        None,
        ["large", "xlarge", "2xlarge", "4xlarge", "8xlarge", "12xlarge", "16xlarge", "24xlarge"],
    ),
    "m6id": (
        "General Purpose",
        4,
        (1, 237),
        ["large", "xlarge", "2xlarge", "4xlarge", "8xlarge", "12xlarge", "16xlarge", "24xlarge"],
    ),
    "m6gd": (
        "General Purpose",
        4,
        (1, 237),
        ["large", "xlarge", "2xlarge", "4xlarge", "8xlarge", "12xlarge", "16xlarge"],
    ),
    "c4": ("Compute Optimized", 1.875, None, ["2xlarge", "4xlarge", "8xlarge"]),
    "c5": (
        "Compute Optimized",
        2,
        None,
        ["xlarge", "2xlarge", "4xlarge", "9xlarge", "12xlarge", "18xlarge", "24xlarge"],
    ),
    "c5d": (
        "Compute Optimized",
        2,
        (1, 100),
        ["xlarge", "2xlarge", "4xlarge", "9xlarge", "12xlarge", "18xlarge", "24xlarge"],
    ),
    "r3": ("Memory Optimized", 7.625, (1, 80), ["xlarge", "2xlarge", "4xlarge", "8xlarge"]),
    "r4": ("Memory Optimized", 7.625, None, ["xlarge", "2xlarge", "4xlarge", "8xlarge", "16xlarge"]),
    "r5": (
        "Memory Optimized",
        8,
        None,
        ["large", "xlarge", "2xlarge", "4xlarge", "8xlarge", "12xlarge", "16xlarge", "24xlarge"],
    ),
    "r5d": (
        "Memory Optimized",
        8,
        (1, 150),
        ["large", "xlarge", "2xlarge", "4xlarge", "8xlarge", "12xlarge", "16xlarge", "24xlarge"],
    ),
    "r6id": (
        "Memory Optimized",
        8,
        (1, 237),
        ["large", "xlarge", "2xlarge", "4xlarge", "8xlarge", "12xlarge", "16xlarge", "24xlarge"],
    ),
    "i3": ("Storage Optimized", 7.625, (1, 950), ["xlarge", "2xlarge", "4xlarge", "8xlarge", "16xlarge"]),
    "i3en": (
        "Storage Optimized",
        8,
        (1, 1250),
        ["large", "xlarge", "2xlarge", "3xlarge", "6xlarge", "12xlarge", "24xlarge"],
    ),
    "i4i": ("Storage Optimized", 8, (1, 937), ["large", "xlarge", "2xlarge", "4xlarge", "8xlarge", "16xlarge"]),
    "g4dn": ("GPU Accelerated", 4, (1, 125), ["xlarge", "2xlarge", "4xlarge", "8xlarge", "12xlarge", "16xlarge"]),
    "p3": ("GPU Accelerated", 7.625, None, ["2xlarge", "8xlarge", "16xlarge"]),
}
AZURE = [  # name, category, cores, GiB, local disk GB
    *[
        (f"Standard_DS{n}_v2", "General Purpose", c, m, d)
        for n, c, m, d in [(3, 4, 14, 28), (4, 8, 28, 56), (5, 16, 56, 112)]
    ],
    *[
        (f"Standard_DS{n}_v2", "Memory Optimized", c, m, d)
        for n, c, m, d in [(11, 2, 14, 28), (12, 4, 28, 56), (13, 8, 56, 112), (14, 16, 112, 224), (15, 20, 140, 280)]
    ],
    *[
        (f"Standard_D{n}_v2", "General Purpose", c, m, d)
        for n, c, m, d in [(3, 4, 14, 200), (4, 8, 28, 400), (5, 16, 56, 800)]
    ],
    *[
        (f"Standard_D{n}_v2", "Memory Optimized", c, m, d)
        for n, c, m, d in [(11, 2, 14, 100), (12, 4, 28, 200), (13, 8, 56, 400), (14, 16, 112, 800)]
    ],
    *[
        (f"Standard_D{c}{s}_v3", "General Purpose", c, c * 4, c * 8 if s == "s" else c * 25)
        for s in ("", "s")
        for c in (4, 8, 16, 32, 48, 64)
    ],
    *[
        (f"Standard_D{c}{s}_v{v}", "General Purpose", c, c * 4, c * 37 if "d" in s else 0)
        for v in (4, 5)
        for s in ("s", "ds", "as", "ads")
        if not (v == 4 and s == "ads")
        for c in (4, 8, 16, 32, 48, 64)
    ],
    *[
        (f"Standard_E{c}{s}_v{v}", "Memory Optimized", c, c * 8, c * 37 if "d" in s else 0)
        for v in (3, 4, 5)
        for s in (("s",) if v == 3 else ("s", "ds", "as", "ads"))
        if not (v == 4 and s == "ads")
        for c in (4, 8, 16, 20, 32, 48, 64)
    ],
    *[(f"Standard_F{c}s", "Compute Optimized", c, c * 2, c * 16) for c in (4, 8, 16)],
    *[(f"Standard_F{c}s_v2", "Compute Optimized", c, c * 2, c * 8) for c in (4, 8, 16, 32, 48, 64, 72)],
    *[(f"Standard_L{c}s_v{v}", "Storage Optimized", c, c * 8, c * 240) for v in (2, 3) for c in (8, 16, 32, 48, 64)],
    *[(f"Standard_NC{c}s_v3", "GPU Accelerated", c, c * 56 // 6, c * 112) for c in (6, 12, 24)],
    *[(f"Standard_NC{c}as_T4_v3", "GPU Accelerated", c, c * 7, c * 44) for c in (4, 8, 16, 64)],
]
GCP = [  # name, category, cores, GiB, local SSD GB
    *[(f"n1-standard-{c}", "General Purpose", c, c * 3.75, 0) for c in (4, 8, 16, 32, 64, 96)],
    *[(f"n1-highmem-{c}", "Memory Optimized", c, c * 6.5, 0) for c in (2, 4, 8, 16, 32, 64, 96)],
    *[(f"n2-standard-{c}", "General Purpose", c, c * 4, 0) for c in (4, 8, 16, 32, 48, 64, 80, 96, 128)],
    *[(f"n2-highmem-{c}", "Memory Optimized", c, c * 8, 0) for c in (2, 4, 8, 16, 32, 48, 64, 80, 96, 128)],
    *[(f"n2-highcpu-{c}", "Compute Optimized", c, c, 0) for c in (8, 16, 32, 48, 64, 80, 96)],
    *[(f"n2d-standard-{c}", "General Purpose", c, c * 4, 0) for c in (4, 8, 16, 32, 48, 64, 80, 96, 128, 224)],
    *[(f"n2d-highmem-{c}", "Memory Optimized", c, c * 8, 0) for c in (4, 8, 16, 32, 48, 64, 80, 96)],
    *[(f"c2-standard-{c}", "Compute Optimized", c, c * 4, 0) for c in (4, 8, 16, 30, 60)],
    *[(f"e2-standard-{c}", "General Purpose", c, c * 4, 0) for c in (4, 8, 16, 32)],
    *[(f"e2-highmem-{c}", "Memory Optimized", c, c * 8, 0) for c in (2, 4, 8, 16)],
    *[(f"a2-highgpu-{g}g", "GPU Accelerated", g * 12, g * 85, 0) for g in (1, 2, 4, 8)],
    *[(f"g2-standard-{c}", "GPU Accelerated", c, c * 4, 375) for c in (4, 8, 12, 16, 24, 32, 48, 96)],
]


def _aws_cores(size: str) -> int:
    if size in AWS_SIZES:
        return AWS_SIZES[size]
    return int(size.removesuffix("xlarge")) * 4


def node(
    name: str, category: str, cores: float, memory_gib: float, disks: int, disk_gb: int, cloud: str, order: int
) -> dict:
    doc = {
        "node_type_id": name,
        "memory_mb": int(memory_gib * 1024),
        "num_cores": float(cores),
        "description": name,
        "instance_type_id": name,
        "category": category,
        "is_deprecated": False,
        "is_hidden": False,
        "support_port_forwarding": True,
        "support_ebs_volumes": cloud == "aws",
        "photon_worker_capable": category != "GPU Accelerated",
        "photon_driver_capable": category != "GPU Accelerated",
        "support_cluster_tags": True,
        "display_order": order,
        "is_io_cache_enabled": disks > 0,
        "num_gpus": (1 if cores <= 16 else max(1, int(cores) // 12)) if category == "GPU Accelerated" else 0,
        # Every count present (0 when none): the SDK's select_node_type sorts on all four.
        "node_instance_type": {
            "instance_type_id": name,
            "local_disks": disks,
            "local_disk_size_gb": disk_gb,
            "local_nvme_disks": 0,
            "local_nvme_disk_size_gb": 0,
        },
    }
    return doc


def main() -> None:
    aws = [
        node(
            f"{family}.{size}",
            category,
            _aws_cores(size),
            _aws_cores(size) * per_core,
            1 if disk else 0,
            (disk[1] * _aws_cores(size) // 4) if disk else 0,
            "aws",
            i,
        )
        for i, (family, (category, per_core, disk, sizes)) in enumerate(AWS.items())
        for size in sizes
    ]
    azure = [node(n, cat, c, m, 1 if d else 0, d, "azure", 0) for n, cat, c, m, d in AZURE]
    gcp = [node(n, cat, c, m, 1 if d else 0, d, "gcp", 0) for n, cat, c, m, d in GCP]
    catalog = json.loads(CATALOG.read_text())
    catalog["node_types"] = {"aws": aws, "azure": azure, "gcp": gcp}
    CATALOG.write_text(_dump(catalog))
    print({cloud: len(nodes) for cloud, nodes in catalog["node_types"].items()})


def _dump(catalog: dict) -> str:
    """JSON with one node type (or version) per line: a diff of the catalogue shows which entries changed."""

    def rows(items: list) -> str:
        return ",\n".join("   " + json.dumps(item) for item in items)

    clouds = ",\n".join(
        f"  {json.dumps(cloud)}: [\n{rows(nodes)}\n  ]" for cloud, nodes in catalog["node_types"].items()
    )
    return (
        f'{{\n "_comment": {json.dumps(catalog["_comment"])},\n "node_types": {{\n{clouds}\n }},\n'
        f' "spark_versions": [\n{rows(catalog["spark_versions"])}\n ]\n}}\n'
    )


if __name__ == "__main__":
    main()
