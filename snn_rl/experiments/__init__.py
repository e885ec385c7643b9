"""Running experiments on a backend: the training loop (:mod:`.training`) and its
checkpoints (:mod:`.checkpoints`), evaluation and testing (:mod:`.evaluation`), lockstep
replay (:mod:`.lockstep`), and what every run writes and reads (:mod:`.storage`,
:mod:`.runs`, :mod:`.outputs`, :mod:`.provenance`)."""
