"""Export nerve models to ONNX files, as ``torch.onnx.export`` does.

    >>> import tempfile, os, nerve as nv
    >>> from nerve import nn
    >>> model = nn.Sequential(nn.Linear(4, 8), nn.ReLU(), nn.Linear(8, 2))
    >>> path = os.path.join(tempfile.mkdtemp(), "mlp.onnx")
    >>> proto = export(model, nv.randn(1, 4), path, input_names=["x"], output_names=["logits"],
    ...                dynamic_axes={"x": {0: "batch"}, "logits": {0: "batch"}})
    >>> [n.op_type for n in proto.graph.node], os.path.getsize(path) > 0
    (['Gemm', 'Relu', 'Gemm'], True)

The exporter walks the module tree: containers (``Sequential``) chain their children, and
each known layer becomes ONNX nodes with its weights stored as initializers. Supported:
``Linear``, ``Conv2d`` (zero padding, ``'same'``/``'valid'``, groups, dilation),
``MaxPool2d`` / ``AvgPool2d``, ``AdaptiveAvgPool2d(1)`` / ``GlobalAvgPool2d``,
``BatchNorm1d/2d`` (running statistics), ``LayerNorm`` (opset 17+), ``Flatten``, ``Dropout`` (dropped), ``Identity``,
``ZeroPad2d`` / ``ConstantPad2d``, the activations (ReLU, LeakyReLU, Sigmoid, Tanh, Softmax,
LogSoftmax, ELU, SELU, GELU, SiLU, Softplus, Hardtanh, ReLU6), ``nn.LSTM`` (as the whole
model; outputs ``output, h_n, c_n``), ``TransformerEncoderLayer`` / ``TransformerEncoder``
(self-attention without masks; relu or gelu) and nerve's residual networks (``models.BasicBlock``, ``Bottleneck``, ``ResNet``:
the shortcut becomes an ``Add``), ``SeedCNN`` and ``LeNet5``. Anything else stops the export
with an error naming the module and its path in the model; ``register_converter`` teaches it
more (``nerve.keras`` registers its own modules this way).

The model runs in eval mode during the export (as torch's default), and the file is written
to a temporary name and renamed into place. Needs the ``onnx`` package
(``pip install nerve[onnx]``).
"""
from .exporter import UnsupportedModuleError, export, register_converter

__all__ = ["export", "register_converter", "UnsupportedModuleError"]
