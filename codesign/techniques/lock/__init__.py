"""EdgePro neuron-authorization locks (Chen et al. 2023), from training to a key register in hardware.

A few "authorization neurons" of a hidden layer are chosen (select.py); lock training (train.py)
runs half of every batch with their activations forced to locking value x scale and the true
labels, the other half unlocked with random labels, so the weights are only accurate when the
password is applied. The password (neuron indices, locking values, scales) is the secret half of
the design: it never enters the spec, the hls4ml project, the RTL or the deploy package. The spec
only says which layers carry a lock unit (``attrs["lock"] = {"units": n}``: a key register that
can address any of the layer's n neurons); every view takes the key at run time
(`password.LockKey`), and at rest the password is AES-256-GCM sealed under a device key
with the spec's hash as associated data (seal.py).

Modules: config (the `harden.lock` block), password (the secret and the key registers derived
from it), select, layer (Keras NeuronLock), train (flow hooks), seal (encryption), kernel (the
emulator's lock unit), hls (hls4ml binding of hls/nnet_lock.h), rtl (codesign/rtl/lock.py: key registers of
rtl/lock_unit.sv), attacks, views (the whole-split check of every view under
the key, no key and a wrong key).

Its IP quartet: the emulator kernel (kernel.py), hls/nnet_lock.h, rtl/lock_unit.sv and its cocotb
bench sim/test_lock_unit.py.
"""
