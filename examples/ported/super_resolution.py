"""Super-resolution with a sub-pixel convolution (Shi et al., 2016), in the shape of PyTorch's
super-resolution example: three convolutions and a last one with upscale_factor^2 channels,
rearranged by nn.PixelShuffle into an image twice as large. Trained with Adam on the MSE
between the upscaled 14x14 version of an MNIST digit (average-pooled) and the 28x28 original;
reports the loss and the PSNR in dB on held-out digits.
"""
import math

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F
import torch.nn.init as init
import torch.optim as optim
from torch.utils.data import DataLoader, Subset
from torchvision import datasets, transforms

from numpy_init import init_from_numpy


class Net(nn.Module):
    def __init__(self, upscale_factor):
        super().__init__()
        self.relu = nn.ReLU()
        self.conv1 = nn.Conv2d(1, 16, (5, 5), (1, 1), (2, 2))
        self.conv2 = nn.Conv2d(16, 16, (3, 3), (1, 1), (1, 1))
        self.conv3 = nn.Conv2d(16, 8, (3, 3), (1, 1), (1, 1))
        self.conv4 = nn.Conv2d(8, upscale_factor ** 2, (3, 3), (1, 1), (1, 1))
        self.pixel_shuffle = nn.PixelShuffle(upscale_factor)

    def forward(self, x):
        x = self.relu(self.conv1(x))
        x = self.relu(self.conv2(x))
        x = self.relu(self.conv3(x))
        return self.pixel_shuffle(self.conv4(x))


def main(n_train=256, n_test=64, epochs=2, batch_size=32, upscale_factor=2):
    data = datasets.MNIST("data", train=True, download=False, transform=transforms.ToTensor())
    test_data = datasets.MNIST("data", train=False, download=False, transform=transforms.ToTensor())
    order = np.random.default_rng(3).permutation(len(data))[:n_train].tolist()
    loader = DataLoader(Subset(data, order), batch_size=batch_size)
    test_loader = DataLoader(Subset(test_data, range(n_test)), batch_size=n_test)

    model = init_from_numpy(Net(upscale_factor), seed=30)
    init.zeros_(model.conv4.bias)
    criterion = nn.MSELoss()
    optimizer = optim.Adam(model.parameters(), lr=3e-3)
    losses = []
    for epoch in range(1, epochs + 1):
        epoch_loss = 0.0
        for iteration, (target, _) in enumerate(loader, 1):
            input = F.avg_pool2d(target, upscale_factor)
            optimizer.zero_grad()
            loss = criterion(model(input), target)
            epoch_loss += loss.item()
            loss.backward()
            optimizer.step()
            losses.append(loss.item())
        print(f"===> epoch {epoch} complete: average loss {epoch_loss / len(loader):.4f}")

        avg_psnr = 0.0
        with torch.no_grad():
            for target, _ in test_loader:
                prediction = model(F.avg_pool2d(target, upscale_factor))
                mse = criterion(prediction, target)
                avg_psnr += 10 * math.log10(1 / mse.item())
        avg_psnr /= len(test_loader)
        print(f"===> average PSNR {avg_psnr:.4f} dB")
        losses.append(avg_psnr)
    return losses


if __name__ == "__main__":
    main()
