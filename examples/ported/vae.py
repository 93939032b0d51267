"""A variational autoencoder on a small subset of MNIST: Linear encoder to a mean and a
log-variance, the reparameterisation z = mu + eps * std with eps = torch.randn_like(std),
a Linear decoder with a sigmoid, and the loss BCE(reconstruction) + KL(q(z|x) || N(0, I)).
"""
import os
import tempfile

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn
from torch.utils.data import DataLoader, Subset
from torchvision import datasets, transforms
from torchvision.utils import make_grid, save_image

from numpy_init import init_from_numpy


class VAE(nn.Module):
    def __init__(self, hidden=64, latent=8):
        super().__init__()
        self.fc1 = nn.Linear(784, hidden)
        self.fc21 = nn.Linear(hidden, latent)
        self.fc22 = nn.Linear(hidden, latent)
        self.fc3 = nn.Linear(latent, hidden)
        self.fc4 = nn.Linear(hidden, 784)

    def encode(self, x):
        h1 = F.relu(self.fc1(x))
        return self.fc21(h1), self.fc22(h1)

    def reparameterize(self, mu, logvar):
        std = torch.exp(0.5 * logvar)
        eps = torch.randn_like(std)
        return mu + eps * std

    def decode(self, z):
        h3 = F.relu(self.fc3(z))
        return torch.sigmoid(self.fc4(h3))

    def forward(self, x):
        mu, logvar = self.encode(x.view(-1, 784))
        z = self.reparameterize(mu, logvar)
        return self.decode(z), mu, logvar


def loss_function(recon_x, x, mu, logvar):
    bce = F.binary_cross_entropy(recon_x, x.view(-1, 784), reduction="sum")
    kld = -0.5 * torch.sum(1 + logvar - mu.pow(2) - logvar.exp())
    return bce + kld


def train(model, loader, optimizer, epoch, losses):
    model.train()
    train_loss = 0.0
    for batch_idx, (data, _) in enumerate(loader):
        optimizer.zero_grad()
        recon_batch, mu, logvar = model(data)
        loss = loss_function(recon_batch, data, mu, logvar)
        loss.backward()
        train_loss += loss.item()
        optimizer.step()
        losses.append(loss.item() / len(data))
    print(f"epoch {epoch}: average loss {train_loss / len(loader.dataset):.4f}")


def test(model, loader, epoch, out_dir):
    model.eval()
    test_loss = 0.0
    with torch.no_grad():
        for i, (data, _) in enumerate(loader):
            recon_batch, mu, logvar = model(data)
            test_loss += loss_function(recon_batch, data, mu, logvar).item()
            if i == 0:
                n = min(data.size(0), 8)
                comparison = torch.cat([data[:n], recon_batch.view(data.size(0), 1, 28, 28)[:n]])
                save_image(comparison.cpu(), os.path.join(out_dir, f"reconstruction_{epoch}.png"), nrow=n)
    test_loss /= len(loader.dataset)
    print(f"test set loss: {test_loss:.4f}")
    return test_loss


def main(n_train=256, n_test=64, epochs=2, batch_size=64, latent=8):
    train_set = datasets.MNIST("data", train=True, download=False, transform=transforms.ToTensor())
    test_set = datasets.MNIST("data", train=False, download=False, transform=transforms.ToTensor())
    order = np.random.default_rng(1).permutation(len(train_set))[:n_train].tolist()
    train_loader = DataLoader(Subset(train_set, order), batch_size=batch_size)
    test_loader = DataLoader(Subset(test_set, range(n_test)), batch_size=batch_size)
    model = init_from_numpy(VAE(latent=latent), seed=1)
    optimizer = torch.optim.Adam(model.parameters(), lr=1e-3)
    losses = []
    with tempfile.TemporaryDirectory() as out_dir:
        for epoch in range(1, epochs + 1):
            train(model, train_loader, optimizer, epoch, losses)
            losses.append(test(model, test_loader, epoch, out_dir))
            with torch.no_grad():
                sample = model.decode(torch.randn(64, latent)).cpu()
                grid = make_grid(sample.view(64, 1, 28, 28))
                save_image(sample.view(64, 1, 28, 28), os.path.join(out_dir, f"sample_{epoch}.png"))
            losses += [grid.mean().item(), float(grid.shape[-1])]
        # Both PNGs read back as plain pixels: their mean brightness, in [0, 255].
        for name in ("reconstruction_2.png", "sample_2.png"):
            from PIL import Image
            with Image.open(os.path.join(out_dir, name)) as im:
                losses.append(float(np.asarray(im, dtype=np.float64).mean()))
    return losses


if __name__ == "__main__":
    main()
