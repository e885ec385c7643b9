"""Analysis and reporting of finished runs: tables across runs and simulators
(:mod:`.compare`), lockstep agreement (:mod:`.agreement`), figures (:mod:`.plots`) and the
self-contained HTML report (:mod:`.report`)."""
