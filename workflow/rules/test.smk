rule test:
    """One test of a trained network (plasticity off) on one backend, clean (flips0) or with
    flipped pixels: trained on {backend}, tested on {test_backend}."""
    input:
        weights=f"{RUN}/weights.npz",
        summary=f"{RUN}/train.json",
        dataset=dataset_file,
    output:
        result=f"{TEST}/test.json",
        raster=f"{TEST}/raster.png",
        spikes=f"{TEST}/spikes.nix",
    log:
        "runs/logs/{dataset}/{backend}/seed{seed}/test_{test_backend}_flips{flips}.log",
    benchmark:
        "runs/benchmarks/{dataset}/{backend}/seed{seed}/test_{test_backend}_flips{flips}.tsv"
    wildcard_constraints:
        test_backend="|".join(TEST_BACKENDS),
    params:
        dataset=dataset_spec,
        repeats=lambda wildcards: config["noise"]["repeats"] if int(wildcards.flips) else config["test"]["repeats"],
        noise_seed=lambda wildcards: config["noise"]["seed"] if int(wildcards.flips) else 0,
    threads: 1
    conda:
        "../envs/snn-rl.yaml"
    script:
        "../scripts/test.py"
