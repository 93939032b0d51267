"""nerve.vision.models: torchvision's ResNet builders (weights=None) are nerve.models' own."""
import pytest

from nerve import models as zoo
from nerve.vision import models


@pytest.mark.parametrize("name,count", [("resnet18", 11_689_512), ("resnet50", 25_557_032)])
def test_resnets_match_torchvisions_parameter_counts(name, count):
    net = getattr(models, name)(weights=None)
    assert isinstance(net, zoo.resnet.ResNet)
    assert sum(p.numel() for p in net.parameters()) == count


def test_keywords_pass_through_and_pretrained_weights_are_refused():
    net = models.resnet34(weights=None, progress=False, num_classes=7)
    assert net.fc.out_features == 7
    with pytest.raises(ValueError, match="no pretrained weights"):
        models.resnet18(weights="IMAGENET1K_V1")
