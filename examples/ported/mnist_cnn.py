"""An nn.Module CNN on a small subset of MNIST, trained with Adadelta and a StepLR schedule,
evaluated on held-out test images after each epoch (the shape of PyTorch's MNIST example,
narrowed so that it runs in seconds on one core; no dropout, whose masks would come from
each framework's own random stream).

The digits are read from $NERVE_DATA_DIR (or ./data) with download=False.
"""
import os
import tempfile

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn
from torch.optim.lr_scheduler import StepLR
from torch.utils.data import DataLoader, Subset
from torchvision import datasets, transforms

from numpy_init import init_from_numpy


class Net(nn.Module):
    def __init__(self):
        super().__init__()
        self.conv1 = nn.Conv2d(1, 8, 3, 1)
        self.conv2 = nn.Conv2d(8, 16, 3, 1)
        self.fc1 = nn.Linear(16 * 12 * 12, 32)
        self.fc2 = nn.Linear(32, 10)

    def forward(self, x):
        x = F.relu(self.conv1(x))
        x = F.relu(self.conv2(x))
        x = F.max_pool2d(x, 2)
        x = torch.flatten(x, 1)
        x = F.relu(self.fc1(x))
        return F.log_softmax(self.fc2(x), dim=1)


def train(model, device, loader, optimizer, epoch, losses, log_interval=4):
    model.train()
    for batch_idx, (data, target) in enumerate(loader):
        data, target = data.to(device), target.to(device)
        optimizer.zero_grad()
        output = model(data)
        loss = F.nll_loss(output, target)
        loss.backward()
        optimizer.step()
        losses.append(loss.item())
        if batch_idx % log_interval == 0:
            print(f"train epoch {epoch} [{batch_idx * len(data)}/{len(loader.dataset)} "
                  f"({100.0 * batch_idx / len(loader):.0f}%)]\tloss: {loss.item():.6f}")


def test(model, device, loader):
    model.eval()
    test_loss, correct = 0.0, 0
    with torch.no_grad():
        for data, target in loader:
            data, target = data.to(device), target.to(device)
            output = model(data)
            test_loss += F.nll_loss(output, target, reduction="sum").item()
            pred = output.argmax(dim=1, keepdim=True)
            correct += pred.eq(target.view_as(pred)).sum().item()
    n = len(loader.dataset)
    print(f"test: average loss {test_loss / n:.4f}, accuracy {correct}/{n}")
    return test_loss / n, correct / n


def main(n_train=512, n_test=256, epochs=3, batch_size=64, seed=0):
    torch.manual_seed(1)
    use_cuda = torch.cuda.is_available()
    use_mps = torch.backends.mps.is_available()
    if use_cuda:
        device = torch.device("cuda")
    elif use_mps:
        device = torch.device("mps")
    else:
        device = torch.device("cpu")
    loader_kwargs = {"batch_size": batch_size}
    if use_cuda:
        loader_kwargs.update({"num_workers": 1, "pin_memory": True})
    transform = transforms.Compose([transforms.ToTensor(), transforms.Normalize((0.1307,), (0.3081,))])
    train_set = datasets.MNIST("data", train=True, download=False, transform=transform)
    test_set = datasets.MNIST("data", train=False, download=False, transform=transform)
    order = np.random.default_rng(seed).permutation(len(train_set))[:n_train].tolist()
    train_loader = DataLoader(Subset(train_set, order), **loader_kwargs)
    test_loader = DataLoader(Subset(test_set, range(n_test)), batch_size=128)

    model = init_from_numpy(Net(), seed=seed).to(device)
    optimizer = torch.optim.Adadelta(model.parameters(), lr=1.0)
    scheduler = StepLR(optimizer, step_size=1, gamma=0.7)
    losses = []
    for epoch in range(1, epochs + 1):
        train(model, device, train_loader, optimizer, epoch, losses)
        test_loss, accuracy = test(model, device, test_loader)
        losses += [test_loss, accuracy, scheduler.get_last_lr()[0]]
        scheduler.step()

    with tempfile.TemporaryDirectory() as tmp:
        path = os.path.join(tmp, "mnist_cnn.pt")
        torch.save(model.state_dict(), path)
        restored = Net().to(device)
        restored.load_state_dict(torch.load(path))
    losses.append(test(restored, device, test_loader)[0])
    return losses


if __name__ == "__main__":
    main()
