"""A Keras-style facade over nerve: ``Sequential`` models of Keras layers, compiled and fitted
with Keras's arguments, trained by :class:`nerve.train.Trainer`.

    >>> from nerve import keras
    >>> from nerve.keras import layers
    >>> model = keras.Sequential([
    ...     layers.Conv2D(32, (3, 3), padding="same", activation="relu", input_shape=(224, 224, 3)),
    ...     layers.MaxPooling2D((2, 2)),
    ...     layers.Flatten(),
    ...     layers.Dense(128, activation="relu"),
    ...     layers.Dense(10, activation="softmax")])
    >>> model.count_params()
    51382538

Images are channels-last ``(N, H, W, C)`` arrays, as in Keras; inside, nerve runs channels
first, and ``Flatten`` orders features as Keras does, so shapes and parameter counts match
Keras's. Weights start as Keras's do (Glorot-uniform kernels, zero biases).
"""
from . import layers, optimizers
from .layers import (Activation, AveragePooling2D, BatchNormalization, Conv2D, Dense, Dropout, Flatten,
                     GlobalAveragePooling2D, Input, MaxPooling2D)
from .models import Sequential

__all__ = ["Sequential", "Input", "layers", "optimizers", "Dense", "Conv2D", "MaxPooling2D", "AveragePooling2D",
           "Flatten", "Dropout", "BatchNormalization", "GlobalAveragePooling2D", "Activation"]
