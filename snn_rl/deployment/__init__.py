"""Taking a trained network to hardware: :mod:`.emulation` (SpiNNaker's arithmetic, checked
on NEST or NEURON first), :mod:`.spinnaker` (the deployment bundle) and
:mod:`.bundle_run` (the standalone script inside every bundle)."""
