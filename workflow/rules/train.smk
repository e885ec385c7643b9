rule train:
    """One training run: the host-side reward-modulated STDP loop on one backend and seed."""
    input:
        dataset=dataset_file,
    output:
        weights=f"{RUN}/weights.npz",
        summary=f"{RUN}/train.json",
        curve=report(f"{RUN}/learning_curve.png", category="Training", subcategory="{dataset}",
                     caption="../report/learning_curve.rst", labels={"backend": "{backend}", "seed": "{seed}"}),
        grid=f"{RUN}/weights.png",
        connections=f"{RUN}/connections.txt",
    log:
        "runs/logs/{dataset}/{backend}/seed{seed}/train.log",
    benchmark:
        "runs/benchmarks/{dataset}/{backend}/seed{seed}/train.tsv"
    params:
        dataset=dataset_spec,
        model=MODEL_PARAMS,
    threads: 1
    conda:
        "../envs/snn-rl.yaml"
    script:
        "../scripts/train.py"
