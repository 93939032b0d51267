"""The CIFAR-10 tutorial's classifier (two 5x5 convolutions, three Linear layers) trained with
SGD + momentum and CrossEntropyLoss on FakeData, random 3x32x32 images with random labels,
so no download is needed. With random labels the loss only shows memorisation; the point is
that both frameworks compute the same numbers.
"""
import os
import tempfile

import torch
import torch.nn.functional as F
from torch import nn
from torch.utils.data import DataLoader
from torchvision import datasets, transforms

from numpy_init import init_from_numpy


classes = ("plane", "car", "bird", "cat", "deer", "dog", "frog", "horse", "ship", "truck")


class Net(nn.Module):
    def __init__(self):
        super().__init__()
        self.conv1 = nn.Conv2d(3, 6, 5)
        self.pool = nn.MaxPool2d(2, 2)
        self.conv2 = nn.Conv2d(6, 16, 5)
        self.fc1 = nn.Linear(16 * 5 * 5, 120)
        self.fc2 = nn.Linear(120, 84)
        self.fc3 = nn.Linear(84, 10)

    def forward(self, x):
        x = self.pool(F.relu(self.conv1(x)))
        x = self.pool(F.relu(self.conv2(x)))
        x = torch.flatten(x, 1)
        x = F.relu(self.fc1(x))
        x = F.relu(self.fc2(x))
        return self.fc3(x)


def main(n_train=256, epochs=3, batch_size=32):
    transform = transforms.Compose([transforms.ToTensor(), transforms.Normalize((0.5, 0.5, 0.5), (0.5, 0.5, 0.5))])
    trainset = datasets.FakeData(size=n_train, image_size=(3, 32, 32), num_classes=10, transform=transform)
    testset = datasets.FakeData(size=64, image_size=(3, 32, 32), num_classes=10, transform=transform,
                                random_offset=n_train)
    trainloader = DataLoader(trainset, batch_size=batch_size, shuffle=False)
    testloader = DataLoader(testset, batch_size=64)

    net = init_from_numpy(Net(), seed=7)
    criterion = nn.CrossEntropyLoss()
    optimizer = torch.optim.SGD(net.parameters(), lr=0.01, momentum=0.9)
    losses = []
    for epoch in range(epochs):
        running_loss = 0.0
        for i, data in enumerate(trainloader, 0):
            inputs, labels = data
            optimizer.zero_grad()
            outputs = net(inputs)
            loss = criterion(outputs, labels)
            loss.backward()
            optimizer.step()
            losses.append(loss.item())
            running_loss += loss.item()
            if i % 4 == 3:
                print(f"[{epoch + 1}, {i + 1:3d}] loss: {running_loss / 4:.3f}")
                running_loss = 0.0

    with tempfile.TemporaryDirectory() as tmp:
        PATH = os.path.join(tmp, "cifar_net.pth")
        torch.save(net.state_dict(), PATH)
        net = Net()
        net.load_state_dict(torch.load(PATH, weights_only=True))

    correct = total = 0
    correct_pred = {name: 0 for name in classes}
    total_pred = {name: 0 for name in classes}
    with torch.no_grad():
        for data in testloader:
            images, labels = data
            outputs = net(images)
            _, predicted = torch.max(outputs.data, 1)
            total += labels.size(0)
            correct += (predicted == labels).sum().item()
            for label, prediction in zip(labels, predicted):
                if label == prediction:
                    correct_pred[classes[label]] += 1
                total_pred[classes[label]] += 1
    print(f"accuracy on {total} held-out fake images: {100 * correct // total} %")
    for name, count in correct_pred.items():
        if total_pred[name]:
            print(f"  {name:5s}: {100 * float(count) / total_pred[name]:.1f} %")
    return losses + [correct / total] + [float(correct_pred[c]) for c in classes]


if __name__ == "__main__":
    main()
