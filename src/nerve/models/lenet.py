"""LeNet-5: the small convolutional network of LeCun et al. (1998), for 28×28 digits.

Layout (default, modern flavour: ReLU and max-pooling):

    input (N, 1, 28, 28)
    conv1  Conv2d(1→6, 5×5, padding=2)     → (N, 6, 28, 28)   ReLU
    pool1  MaxPool2d(2)                    → (N, 6, 14, 14)
    conv2  Conv2d(6→16, 5×5)               → (N, 16, 10, 10)  ReLU
    pool2  MaxPool2d(2)                    → (N, 16, 5, 5)
    flatten                                → (N, 400)
    fc1    Linear(400→120)  ReLU
    fc2    Linear(120→84)   ReLU
    fc3    Linear(84→10)                   → (N, 10) logits

The padding of 2 on the first conv stands in for the 32×32 canvas of the original paper:
a 28×28 MNIST image padded by 2 on each side is 32×32, so every later shape matches the
paper's.

Parameter count (each conv has out·in·kH·kW weights plus one bias per filter):

    conv1   6×1×5×5 + 6     =    156
    conv2   16×6×5×5 + 16   =  2,416
    fc1     400×120 + 120   = 48,120
    fc2     120×84 + 84     = 10,164
    fc3     84×10 + 10      =    850
                              ------
                              61,706

``lenet5(classic=True)`` gives the 1998 flavour: tanh activations and 2×2 average pooling
in place of ReLU and max-pooling. The count is the same, because neither the activation nor
the pooling holds weights. (The paper's subsampling layers also had a learned scale and bias
per map, and its C3 layer connected only some input maps to each filter; like most
re-implementations, this one keeps the simpler fully-connected C3 and parameter-free pooling.)

    >>> from nerve import models
    >>> net = models.get_model("lenet5")
    >>> net.num_parameters()
    61706
    >>> import nerve as nv
    >>> net(nv.zeros(2, 1, 28, 28)).shape
    (2, 10)
"""
from __future__ import annotations

from .. import nn
from . import register_model

__all__ = ["LeNet5", "lenet5"]


class LeNet5(nn.Module):
    """LeNet-5 as ``features`` (convolutions and pooling) then ``classifier`` (three Linear layers).

    Args:
        num_classes: width of the last layer (default 10).
        in_channels: image channels (default 1, grayscale).
        classic: use tanh and average pooling as in 1998 (default False: ReLU and max-pooling).

    Shapes: (N, in_channels, 28, 28) → (N, num_classes). Other sizes fail at ``fc1`` with an
    error that names the flattened width it received.

    Example:
        >>> import nerve as nv
        >>> net = LeNet5()
        >>> print(net.summary((1, 28, 28)).rows[0].arithmetic)
        6×1×5×5 + 6 = 156
        >>> net.summary((1, 28, 28)).total_params
        61706
    """

    def __init__(self, num_classes=10, in_channels=1, classic=False):
        super().__init__()
        act = nn.Tanh if classic else nn.ReLU
        pool = nn.AvgPool2d if classic else nn.MaxPool2d
        self.classic = classic
        self.features = nn.Sequential(
            nn.Conv2d(in_channels, 6, 5, padding=2), act(), pool(2),   # (N, 6, 14, 14)
            nn.Conv2d(6, 16, 5), act(), pool(2),                       # (N, 16, 5, 5)
        )
        self.flatten = nn.Flatten()                                    # (N, 400)
        self.classifier = nn.Sequential(
            nn.Linear(16 * 5 * 5, 120), act(),
            nn.Linear(120, 84), act(),
            nn.Linear(84, num_classes),
        )

    def forward(self, x):
        x = self.flatten(self.features(x))
        if x.ndim == 2 and x.shape[1] != 400:
            raise ValueError(f"LeNet5 expects 28×28 images (flattened features of width 16·5·5 = 400), "
                             f"but the input gave {x.shape[1]} features; resize or pad the images to "
                             f"28×28 (use in_channels for colour images)")
        return self.classifier(x)


@register_model("lenet5", "lenet", "lenet-5")
def lenet5(num_classes=10, in_channels=1, classic=False):
    """LeNet-5 for 28×28 images (61,706 parameters with 10 classes); see :class:`LeNet5`."""
    return LeNet5(num_classes=num_classes, in_channels=in_channels, classic=classic)
