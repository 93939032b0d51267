"""A PyTorch + torchvision training script, run on nerve by renaming the imports.

The original would start with ``import torch``, ``from torch import nn`` and
``from torchvision import datasets, transforms``; everything below those lines is the usual
PyTorch code. The trained model is then written as an ONNX file.

    python examples/torchvision_style_mnist.py          # 10,000 training images, 2 epochs
"""
import sys

import nerve as torch                                # was: import torch
from nerve import nn                                 # was: from torch import nn
from nerve.data import DataLoader, Subset            # was: from torch.utils.data import DataLoader, Subset
from nerve.vision import datasets, transforms        # was: from torchvision import datasets, transforms


def main(n_train=10000, epochs=2, onnx_path=None, seed=0):
    torch.manual_seed(seed)
    tf = transforms.Compose([transforms.ToTensor(), transforms.Normalize((0.1307,), (0.3081,))])
    train = Subset(datasets.MNIST("data", train=True, download=True, transform=tf), range(n_train))
    test = datasets.MNIST("data", train=False, download=True, transform=tf)
    train_loader = DataLoader(train, batch_size=64, shuffle=True)
    test_loader = DataLoader(Subset(test, range(2000)), batch_size=500)

    model = nn.Sequential(nn.Flatten(), nn.Linear(784, 128), nn.ReLU(), nn.Linear(128, 10))
    optimizer = torch.optim.Adam(model.parameters(), lr=1e-3)
    criterion = nn.CrossEntropyLoss()
    for epoch in range(epochs):
        model.train()
        for x, y in train_loader:
            optimizer.zero_grad()
            loss = criterion(model(x), y)
            loss.backward()
            optimizer.step()
        model.eval()
        correct = total = 0
        with torch.no_grad():
            for x, y in test_loader:
                correct += (model(x).argmax(1) == y).sum().item()
                total += len(y)
        print(f"epoch {epoch + 1}: loss {loss.item():.3f}, test accuracy {correct / total:.4f}")
    if onnx_path:
        torch.onnx.export(model, torch.randn(1, 1, 28, 28), onnx_path, input_names=["image"],
                          output_names=["logits"], dynamic_axes={"image": {0: "batch"}, "logits": {0: "batch"}})
        print(f"wrote {onnx_path}")
    return correct / total


if __name__ == "__main__":
    main(onnx_path=sys.argv[1] if len(sys.argv) > 1 else None)
