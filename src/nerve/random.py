"""The global random generator behind ``rand``, ``randn``, initializers and dropout.

``nerve.manual_seed(s)`` makes every later draw reproducible. ``get_rng_state`` /
``set_rng_state`` capture and restore it exactly (checkpoints use them).
"""
from __future__ import annotations

import numpy as np

_generator = np.random.default_rng(0)


_device_generators = {}   # array module (CuPy) -> its generator, seeded from the last manual_seed
_device_seed = [0]


def manual_seed(seed: int):
    """Seed the global generator (and the device generators); returns the host one.

    The generator is reseeded in place, so it stays the same object (as torch's default
    generator): code holding ``default_generator()`` follows the new seed too.
    """
    if not isinstance(seed, (int, np.integer)) or seed < 0:
        raise ValueError(f"seed must be a non-negative integer, got {seed!r}")
    _generator.bit_generator.state = np.random.default_rng(int(seed)).bit_generator.state
    _device_seed[0] = int(seed)
    _device_generators.clear()
    return _generator


def device_generator(xp):
    """The generator that draws directly in ``xp``'s memory: the global NumPy one for NumPy,
    and for a device array library (CuPy) its own ``default_rng``, seeded by the last
    ``manual_seed``, so masks and noise are made on the device instead of copied there.
    """
    if xp is np:
        return _generator
    g = _device_generators.get(xp)
    if g is None:
        g = _device_generators[xp] = xp.random.default_rng(_device_seed[0])
    return g


seed = manual_seed


def initial_seed() -> int:
    """The seed last given to :func:`manual_seed` (0 before any call), as ``torch.initial_seed``.

    Restoring a state with :func:`set_rng_state` does not change it (as in PyTorch).
    """
    return _device_seed[0]


def default_generator() -> np.random.Generator:
    return _generator


def get_rng_state() -> dict:
    """The generator's full state as a JSON-serialisable dict."""
    return _generator.bit_generator.state


def set_rng_state(state: dict) -> None:
    _generator.bit_generator.state = state


class Generator:
    """A random generator object, as ``torch.Generator``: pass it as ``generator=`` to
    ``rand``, ``randn``, ``randint``, ``randperm`` and ``multinomial`` to draw from a stream of
    its own instead of the global one.

    Example:
        >>> import nerve as nv
        >>> g = nv.Generator().manual_seed(3)
        >>> a = nv.randint(10, (4,), generator=g)
        >>> b = nv.randint(10, (4,), generator=nv.Generator().manual_seed(3))
        >>> a.tolist() == b.tolist()
        True
    """

    def __init__(self, device="cpu"):
        if str(device) != "cpu":
            raise ValueError(f"Generator: only device='cpu' is supported, got {device!r}")
        self._initial = int(np.random.SeedSequence().entropy % (2 ** 63))
        self._np = np.random.default_rng(self._initial)

    def manual_seed(self, seed):
        """Reseed; returns the generator itself (so ``Generator().manual_seed(0)`` chains)."""
        if not isinstance(seed, (int, np.integer)) or seed < 0:
            raise ValueError(f"manual_seed: seed must be a non-negative integer, got {seed!r}")
        self._initial = int(seed)
        fresh = np.random.default_rng(self._initial)
        if getattr(self, "_np", None) is None:
            self._np = fresh
        else:  # reseed in place: samplers and loaders holding this stream see the new seed
            self._np.bit_generator.state = fresh.bit_generator.state
        return self

    def seed(self):
        """Reseed from fresh OS entropy; returns the new seed."""
        self.manual_seed(int(np.random.SeedSequence().entropy % (2 ** 63)))
        return self._initial

    def initial_seed(self):
        return self._initial

    def get_state(self):
        return self._np.bit_generator.state

    def set_state(self, state):
        self._np.bit_generator.state = state
        return self

    def __repr__(self):
        return f"<nerve.Generator initial_seed={self._initial}>"


def resolve(generator=None) -> np.random.Generator:
    """The NumPy generator behind ``generator``: the global one for None, a nerve
    ``Generator``'s stream, or a ``numpy.random.Generator`` as it is."""
    if generator is None:
        return _generator
    if isinstance(generator, Generator):
        return generator._np
    if isinstance(generator, np.random.Generator):
        return generator
    raise TypeError(f"generator must be a nerve.Generator or a numpy.random.Generator, got "
                    f"{type(generator).__name__}")
