"""NIR: every trained network exported as a NIR graph and run by an independent importer (Norse).

The consumer's test lands where the compare step looks for extra test columns
(``extra_test_backends: [nir-norse]`` in the config puts it into the tables and the report,
beside nir.json: its answers against NEST's and the cause of each difference);
``snakemake nir`` exports every network and runs every consumer test.
"""

NIR_CONSUMER = "nir-norse"


rule export_nir:
    """A trained network (trained on {backend}) as a NIR graph: snn-rl export --format nir."""
    input:
        weights=f"{RUN}/weights.npz",
        summary=f"{RUN}/train.json",
        dataset=dataset_file,
    output:
        graph=f"{RUN}/nir/network.nir",
    log:
        "runs/logs/{dataset}/{backend}/seed{seed}/export_nir.log",
    benchmark:
        "runs/benchmarks/{dataset}/{backend}/seed{seed}/export_nir.tsv"
    params:
        dataset=dataset_spec,
    threads: 1
    conda:
        "../envs/snn-rl.yaml"
    script:
        "../scripts/nir_export.py"


rule test_nir:
    """The exported graph run by Norse's NIR importer, compared with NEST running the same
    graph read back; nir.json names each character answered differently and why."""
    input:
        graph=f"{RUN}/nir/network.nir",
        dataset=dataset_file,
    output:
        result=f"{RUN}/test/{NIR_CONSUMER}/flips0/test.json",
        comparison=f"{RUN}/test/{NIR_CONSUMER}/flips0/nir.json",
        raster=f"{RUN}/test/{NIR_CONSUMER}/flips0/raster.png",
    log:
        "runs/logs/{dataset}/{backend}/seed{seed}/test_nir.log",
    benchmark:
        "runs/benchmarks/{dataset}/{backend}/seed{seed}/test_nir.tsv"
    params:
        dataset=dataset_spec,
    threads: 1
    conda:
        "../envs/snn-rl.yaml"
    script:
        "../scripts/nir_test.py"


rule nir:
    """Every NIR export and every consumer test."""
    input:
        expand(f"{RUN}/test/{NIR_CONSUMER}/flips0/nir.json", dataset=DATASETS, backend=BACKENDS, seed=SEEDS),
