"""The built-in transfer methods: importing this module registers every one of them.

Kept apart from :mod:`spektron.methods.registry` so that the registry depends on nothing
and each method module depends on the registry, never the other way round.
"""

import spektron.baselines  # noqa: F401  (none, target, meancorr, ds, pds, sst, sbc, augment; the peers that import)
import spektron.transfer.da_strategies  # noqa: F401  (coral, mmd, dann, lora; torch loads lazily)
import spektron.transfer.strategies  # noqa: F401  (spektron and its ablations, the deep pipeline; torch loads lazily)
