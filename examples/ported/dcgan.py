"""A DCGAN for a few steps on 28x28 MNIST digits scaled to [-1, 1]: a ConvTranspose2d
generator (1 -> 7 -> 14 -> 28 pixels) with BatchNorm and Tanh, a Conv2d discriminator with
LeakyReLU and a Sigmoid, BCELoss, and one Adam optimizer for each network. Weights start
from N(0, 0.02) (norm scales from N(1, 0.02)) as in the DCGAN paper.
"""
import numpy as np
import torch
import torch.backends.cudnn as cudnn
from torch import nn
from torch.utils.data import DataLoader, Subset
from torchvision import datasets, transforms
import torchvision.utils as vutils

nz, ngf, ndf = 8, 16, 16
_init_rng = np.random.default_rng(20)  # torch.nn.init draws from each framework's own stream


def weights_init(m):
    """N(0, 0.02) for convolutions, N(1, 0.02) and 0 for BatchNorm's scale and shift."""
    classname = m.__class__.__name__
    if classname.find("Conv") != -1:
        w = _init_rng.normal(0.0, 0.02, tuple(m.weight.shape)).astype(np.float32)
        m.weight.data.copy_(torch.from_numpy(w))
    elif classname.find("BatchNorm") != -1:
        w = _init_rng.normal(1.0, 0.02, tuple(m.weight.shape)).astype(np.float32)
        m.weight.data.copy_(torch.from_numpy(w))
        nn.init.constant_(m.bias.data, 0)


class Generator(nn.Module):
    def __init__(self):
        super().__init__()
        self.main = nn.Sequential(
            nn.ConvTranspose2d(nz, ngf * 2, 7, 1, 0, bias=False),
            nn.BatchNorm2d(ngf * 2),
            nn.ReLU(True),
            nn.ConvTranspose2d(ngf * 2, ngf, 4, 2, 1, bias=False),
            nn.BatchNorm2d(ngf),
            nn.ReLU(True),
            nn.ConvTranspose2d(ngf, 1, 4, 2, 1, bias=False),
            nn.Tanh(),
        )

    def forward(self, z):
        return self.main(z)


class Discriminator(nn.Module):
    def __init__(self):
        super().__init__()
        self.main = nn.Sequential(
            nn.Conv2d(1, ndf, 4, 2, 1, bias=False),
            nn.LeakyReLU(0.2, inplace=True),
            nn.Conv2d(ndf, ndf * 2, 4, 2, 1, bias=False),
            nn.BatchNorm2d(ndf * 2),
            nn.LeakyReLU(0.2, inplace=True),
            nn.Conv2d(ndf * 2, 1, 7, 1, 0, bias=False),
            nn.Sigmoid(),
        )

    def forward(self, x):
        return self.main(x).view(-1, 1).squeeze(1)


def main(steps=8, batch_size=32, seed=999):
    torch.manual_seed(seed)
    torch.cuda.manual_seed_all(seed)
    cudnn.benchmark = True
    transform = transforms.Compose([transforms.ToTensor(), transforms.Normalize((0.5,), (0.5,))])
    data = datasets.MNIST("data", train=True, download=False, transform=transform)
    order = np.random.default_rng(2).permutation(len(data))[:steps * batch_size].tolist()
    loader = DataLoader(Subset(data, order), batch_size=batch_size)

    device = torch.device("cuda:0" if torch.cuda.is_available() else "cpu")
    netG = Generator().to(device)
    netG.apply(weights_init)
    netD = Discriminator().to(device)
    netD.apply(weights_init)
    criterion = nn.BCELoss()
    fixed_noise = torch.randn(16, nz, 1, 1, device=device)
    real_label, fake_label = 1.0, 0.0
    optimizerD = torch.optim.Adam(netD.parameters(), lr=2e-4, betas=(0.5, 0.999))
    optimizerG = torch.optim.Adam(netG.parameters(), lr=2e-4, betas=(0.5, 0.999))

    losses = []
    for i, data in enumerate(loader, 0):
        # (1) discriminator: maximise log D(x) + log(1 - D(G(z)))
        netD.zero_grad()
        real_cpu = data[0].to(device)
        b = real_cpu.size(0)
        label = torch.full((b,), real_label, dtype=torch.float, device=device)
        output = netD(real_cpu)
        errD_real = criterion(output, label)
        errD_real.backward()
        D_x = output.mean().item()

        noise = torch.randn(b, nz, 1, 1, device=device)
        fake = netG(noise)
        label.fill_(fake_label)
        output = netD(fake.detach())
        errD_fake = criterion(output, label)
        errD_fake.backward()
        errD = errD_real + errD_fake
        optimizerD.step()

        # (2) generator: maximise log D(G(z))
        netG.zero_grad()
        label.fill_(real_label)
        output = netD(fake)
        errG = criterion(output, label)
        errG.backward()
        D_G_z = output.mean().item()
        optimizerG.step()
        print(f"[{i + 1}/{len(loader)}] loss D {errD.item():.4f} loss G {errG.item():.4f} "
              f"D(x) {D_x:.4f} D(G(z)) {D_G_z:.4f}")
        losses += [errD.item(), errG.item(), D_x, D_G_z]
    with torch.no_grad():
        fake = netG(fixed_noise).detach().cpu()
    grid = vutils.make_grid(fake, padding=2, normalize=True)
    losses += [grid.mean().item(), grid.std().item(), float(grid.shape[1]), float(grid.shape[2])]
    return losses


if __name__ == "__main__":
    main()
