rule compare:
    """Tables and figures of one data set: accuracy per backend and seed, transfer matrix,
    noise robustness, epochs to criterion, wall time."""
    input:
        summaries=expand(f"{RUN}/train.json", dataset="{dataset}", backend=BACKENDS, seed=SEEDS),
        weights=expand(f"{RUN}/weights.npz", dataset="{dataset}", backend=BACKENDS, seed=SEEDS),
        tests=test_results,
    output:
        table=report("runs/{dataset}/compare/summary.tsv", category="Tables", subcategory="{dataset}",
                     caption="../report/summary.rst"),
        transfer_table="runs/{dataset}/compare/transfer.tsv",
        noise_table="runs/{dataset}/compare/noise.tsv",
        training_table="runs/{dataset}/compare/training.tsv",
        emulation_table="runs/{dataset}/compare/emulation.tsv",
        summary="runs/{dataset}/compare/compare.json",
        learning_curves=report("runs/{dataset}/compare/learning_curves.png", category="Comparison",
                               subcategory="{dataset}", caption="../report/learning_curves.rst"),
        weights=report("runs/{dataset}/compare/weights.png", category="Comparison", subcategory="{dataset}",
                       caption="../report/weights.rst"),
        transfer=report("runs/{dataset}/compare/transfer.png", category="Comparison", subcategory="{dataset}",
                        caption="../report/transfer.rst"),
        noise=report("runs/{dataset}/compare/noise.png", category="Comparison", subcategory="{dataset}",
                     caption="../report/noise.rst"),
    log:
        "runs/logs/{dataset}/compare.log",
    benchmark:
        "runs/benchmarks/{dataset}/compare.tsv"
    params:
        test_keys=lambda wildcards: test_keys(),
        extra_test_backends=EXTRA_TEST_BACKENDS,
    threads: 1
    conda:
        "../envs/snn-rl.yaml"
    script:
        "../scripts/compare.py"
