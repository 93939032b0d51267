"""Default settings of `nerve train`, shared by the argument parser and the command."""

# Defaults for `nerve train` with no options, tuned on MNIST with the 784-16-16-10 network:
# Adam with a cosine decay, batches of 128, one-pixel random shifts and ELU units. Measured
# on 2 shared CPU cores: 10 epochs take 3-7 s and reach 96.50 / 96.62 / 96.61 % test
# accuracy for seeds 0 / 1 / 2 (shifts drawn by nerve.data.augment.RandomShift; the CLI's
# earlier shift code drew the same distribution in another order: 96.43 / 96.51 / 96.63 %).
# Each choice counts: with ReLU and no shifts the same run gives 95.70 / 95.58 % (seeds
# 0 / 1), ELU alone 96.34 / 96.18 %, shifts alone 95.42 / 95.75 %.
DEFAULTS = {"epochs": 10, "batch_size": 128, "val_fraction": 0.05, "shift": 1}
DEFAULT_LR = {"sgd": 0.1, "momentum": 0.05, "adam": 6e-3, "adamw": 6e-3, "rmsprop": 1e-3, "adagrad": 0.05,
              # MNIST, 2 epochs, seed 0 (adam 6e-3: 94.54 %): adadelta 1.0 92.03 %, adamax 1.2e-2
              # 94.99 % (6e-3: 93.59 %), nadam 2e-3 92.49 % (6e-3: 89.62 %), radam 6e-3 93.47 %.
              "adadelta": 1.0, "adamax": 1.2e-2, "nadam": 2e-3, "radam": 6e-3}
# The zoo's CNNs default to colour (3-channel) inputs and some to 1000 ImageNet classes; the
# digit datasets are (1, 28, 28) with 10 classes, so the CLI builds them for that shape.
DEFAULT_MODEL_KWARGS = {
    "seed-mlp": {"activation": "elu"},
    "seed-cnn": {"in_channels": 1, "image_size": 28},
    "seed-cnn-gap": {"in_channels": 1},
    "tiny-inception": {"in_channels": 1},
    "resnet-small": {"in_channels": 1},
    "resnet18": {"in_channels": 1, "num_classes": 10},
    "resnet34": {"in_channels": 1, "num_classes": 10},
}


def default_model_kwargs(name: str) -> dict:
    """The options the CLI builds ``name`` with, found under its canonical name, so an alias
    (``MLP_784_16_16_10``, ``resnet-18``) gets the same defaults as the model's own name."""
    from .. import models  # noqa: PLC0415

    try:
        key = models.canonical_name(name)
    except ValueError:   # an unknown model: building it reports that
        key = str(name).strip().lower().replace("_", "-")
    return dict(DEFAULT_MODEL_KWARGS.get(key, {}))
