"""Small students for 32-64 px images and ~10 classes (the distillation targets of ``edgekit distill``)."""
from __future__ import annotations

import torch
from torch import nn

from ._cnn import ResNet, conv_bn, make_divisible


class TinyMobileNet(nn.Module):
    """MobileNetV1-style stack of depthwise-separable blocks (Howard et al. 2017), shortened for small images.

    A 3x3 stem at stride 1 (a 32 px image has no pixels to spare), then depthwise 3x3 + pointwise 1x1
    blocks with three stride-2 stages, global average pooling and one linear layer.
    """

    # (output channels, stride) of each depthwise-separable block at width 1.0
    BLOCKS = [(32, 1), (64, 2), (64, 1), (128, 2), (128, 1), (256, 2)]

    def __init__(self, in_channels: int = 3, num_classes: int = 10, width: float = 1.0):
        super().__init__()
        cin = make_divisible(16 * width)
        layers: list[nn.Module] = [conv_bn(in_channels, cin, 3, 1)]
        for c, s in self.BLOCKS:
            cout = make_divisible(c * width)
            layers += [conv_bn(cin, cin, 3, s, groups=cin), conv_bn(cin, cout, 1)]
            cin = cout
        self.features = nn.Sequential(*layers)
        self.pool = nn.AdaptiveAvgPool2d(1)
        self.classifier = nn.Linear(cin, num_classes)

    def forward(self, x):
        return self.classifier(torch.flatten(self.pool(self.features(x)), 1))


def tiny_mobilenet(in_channels: int, num_classes: int, width: float, input_size: int) -> nn.Module:
    return TinyMobileNet(in_channels, num_classes, width)


def tiny_resnet(in_channels: int, num_classes: int, width: float, input_size: int) -> nn.Module:
    """ResNet-8 (one basic block per stage, 16/32/64 channels at width 1.0, CIFAR-style 3x3 stem)."""
    channels = [make_divisible(c * width) for c in (16, 32, 64)]
    return ResNet([1, 1, 1], channels, in_channels, num_classes, stem="cifar")
