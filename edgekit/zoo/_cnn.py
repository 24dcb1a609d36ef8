"""ImageNet-class CNNs, written after the papers' layer tables (torchvision is not a dependency).

Layer structure, channel counts and strides follow: MobileNetV2 (Sandler et al. 2018, table 2),
ResNet-18 (He et al. 2016, table 1), EfficientNet-B0 (Tan & Le 2019, table 1; SE ratio 0.25, SiLU),
ShuffleNetV2 1.0x (Ma et al. 2018, table 5). Parameter counts at width 1.0 / 1000 classes match the
reference implementations (3.50M, 11.69M, 5.29M, 2.28M).
"""
from __future__ import annotations

import torch
from torch import nn


def make_divisible(value: float, divisor: int = 8, min_value: int | None = None) -> int:
    """Round channels to a multiple of ``divisor`` without losing more than 10% (MobileNet reference code)."""
    min_value = min_value or divisor
    new = max(min_value, int(value + divisor / 2) // divisor * divisor)
    return new + divisor if new < 0.9 * value else new


def conv_bn(cin: int, cout: int, k: int, stride: int = 1, groups: int = 1, act: type[nn.Module] | None = nn.ReLU,
            eps: float = 1e-5) -> nn.Sequential:
    layers: list[nn.Module] = [nn.Conv2d(cin, cout, k, stride, (k - 1) // 2, groups=groups, bias=False),
                               nn.BatchNorm2d(cout, eps=eps)]
    if act is not None:
        layers.append(act())
    return nn.Sequential(*layers)


# --- MobileNetV2 ---------------------------------------------------------------------------------

class InvertedResidual(nn.Module):
    def __init__(self, cin: int, cout: int, stride: int, expand: int):
        super().__init__()
        hidden = cin * expand
        layers: list[nn.Module] = []
        if expand != 1:
            layers.append(conv_bn(cin, hidden, 1, act=nn.ReLU6))
        layers += [conv_bn(hidden, hidden, 3, stride, groups=hidden, act=nn.ReLU6),
                   conv_bn(hidden, cout, 1, act=None)]  # linear bottleneck
        self.conv = nn.Sequential(*layers)
        self.use_res = stride == 1 and cin == cout

    def forward(self, x):
        return x + self.conv(x) if self.use_res else self.conv(x)


class MobileNetV2(nn.Module):
    # expansion t, channels c, repeats n, first stride s (paper table 2)
    SETTINGS = [(1, 16, 1, 1), (6, 24, 2, 2), (6, 32, 3, 2), (6, 64, 4, 2), (6, 96, 3, 1), (6, 160, 3, 2),
                (6, 320, 1, 1)]

    def __init__(self, in_channels: int = 3, num_classes: int = 1000, width: float = 1.0):
        super().__init__()
        cin = make_divisible(32 * width)
        last = make_divisible(1280 * max(1.0, width))
        layers: list[nn.Module] = [conv_bn(in_channels, cin, 3, 2, act=nn.ReLU6)]
        for t, c, n, s in self.SETTINGS:
            cout = make_divisible(c * width)
            for i in range(n):
                layers.append(InvertedResidual(cin, cout, s if i == 0 else 1, t))
                cin = cout
        layers.append(conv_bn(cin, last, 1, act=nn.ReLU6))
        self.features = nn.Sequential(*layers)
        self.pool = nn.AdaptiveAvgPool2d(1)
        self.classifier = nn.Sequential(nn.Dropout(0.2), nn.Linear(last, num_classes))

    def forward(self, x):
        return self.classifier(torch.flatten(self.pool(self.features(x)), 1))


# --- ResNet-18 -------------------------------------------------------------------------------------

class BasicBlock(nn.Module):
    def __init__(self, cin: int, cout: int, stride: int):
        super().__init__()
        self.conv1 = conv_bn(cin, cout, 3, stride)
        self.conv2 = conv_bn(cout, cout, 3, act=None)
        self.downsample = conv_bn(cin, cout, 1, stride, act=None) if stride != 1 or cin != cout else None
        self.relu = nn.ReLU()

    def forward(self, x):
        identity = x if self.downsample is None else self.downsample(x)
        return self.relu(self.conv2(self.conv1(x)) + identity)


class ResNet(nn.Module):
    def __init__(self, blocks: list[int], channels: list[int], in_channels: int = 3, num_classes: int = 1000,
                 stem: str = "imagenet"):
        super().__init__()
        c0 = channels[0]
        if stem == "imagenet":  # 7x7/2 conv + 3x3/2 max pool
            self.stem = nn.Sequential(nn.Conv2d(in_channels, c0, 7, 2, 3, bias=False), nn.BatchNorm2d(c0), nn.ReLU(),
                                      nn.MaxPool2d(3, 2, 1))
        else:  # CIFAR-style 3x3/1 stem for 32-64 px images (He et al. 2016, section 4.2)
            self.stem = conv_bn(in_channels, c0, 3)
        layers, cin = [], c0
        for i, (n, c) in enumerate(zip(blocks, channels)):
            for j in range(n):
                layers.append(BasicBlock(cin, c, 2 if (i > 0 and j == 0) else 1))
                cin = c
        self.layers = nn.Sequential(*layers)
        self.pool = nn.AdaptiveAvgPool2d(1)
        self.fc = nn.Linear(cin, num_classes)

    def forward(self, x):
        return self.fc(torch.flatten(self.pool(self.layers(self.stem(x))), 1))


# --- EfficientNet-B0 -------------------------------------------------------------------------------

class SqueezeExcite(nn.Module):
    def __init__(self, channels: int, squeeze: int):
        super().__init__()
        self.reduce = nn.Conv2d(channels, squeeze, 1)
        self.expand = nn.Conv2d(squeeze, channels, 1)
        self.act = nn.SiLU()
        self.gate = nn.Sigmoid()

    def forward(self, x):
        s = x.mean((2, 3), keepdim=True)
        return x * self.gate(self.expand(self.act(self.reduce(s))))


class MBConv(nn.Module):
    def __init__(self, cin: int, cout: int, kernel: int, stride: int, expand: int, se_ratio: float = 0.25):
        super().__init__()
        hidden = cin * expand
        eps = 1e-3  # the EfficientNet reference uses BN epsilon 1e-3
        layers: list[nn.Module] = []
        if expand != 1:
            layers.append(conv_bn(cin, hidden, 1, act=nn.SiLU, eps=eps))
        layers += [conv_bn(hidden, hidden, kernel, stride, groups=hidden, act=nn.SiLU, eps=eps),
                   SqueezeExcite(hidden, max(1, int(cin * se_ratio))),  # squeeze relative to block input
                   conv_bn(hidden, cout, 1, act=None, eps=eps)]
        self.block = nn.Sequential(*layers)
        self.use_res = stride == 1 and cin == cout

    def forward(self, x):
        # stochastic depth is training-only; in eval it is the identity, so it is left out
        return x + self.block(x) if self.use_res else self.block(x)


class EfficientNetB0(nn.Module):
    # expand, kernel, stride, out channels, repeats (paper table 1, stages 2-8)
    SETTINGS = [(1, 3, 1, 16, 1), (6, 3, 2, 24, 2), (6, 5, 2, 40, 2), (6, 3, 2, 80, 3), (6, 5, 1, 112, 3),
                (6, 5, 2, 192, 4), (6, 3, 1, 320, 1)]

    def __init__(self, in_channels: int = 3, num_classes: int = 1000, width: float = 1.0):
        super().__init__()
        cin = make_divisible(32 * width)
        layers: list[nn.Module] = [conv_bn(in_channels, cin, 3, 2, act=nn.SiLU, eps=1e-3)]
        for e, k, s, c, n in self.SETTINGS:
            cout = make_divisible(c * width)
            for i in range(n):
                layers.append(MBConv(cin, cout, k, s if i == 0 else 1, e))
                cin = cout
        last = 4 * cin  # head width is 4x the last stage (1280 at width 1.0), as in the reference
        layers.append(conv_bn(cin, last, 1, act=nn.SiLU, eps=1e-3))
        self.features = nn.Sequential(*layers)
        self.pool = nn.AdaptiveAvgPool2d(1)
        self.classifier = nn.Sequential(nn.Dropout(0.2), nn.Linear(last, num_classes))

    def forward(self, x):
        return self.classifier(torch.flatten(self.pool(self.features(x)), 1))


# --- ShuffleNetV2 ----------------------------------------------------------------------------------

def channel_shuffle(x, groups: int, static: bool = False):
    # x.size() as in the reference: the ONNX export then holds Shape -> Gather chains for the Reshape
    b, c, h, w = (int(d) for d in x.shape) if static else x.size()
    x = x.view(b, groups, c // groups, h, w).transpose(1, 2).contiguous()
    return x.view(b, c, h, w)


class ShuffleUnit(nn.Module):
    # True: trace shapes as Python ints (constant Reshape shapes, constant-bounds Slice for the split).
    # torch.chunk / x.size() export as Shape/Gather/Div/Slice chains, on which onnx2tf 1.29 fails.
    static_shapes = False

    def __init__(self, cin: int, cout: int, stride: int):
        super().__init__()
        self.stride = stride
        branch = cout // 2
        if stride > 1:
            self.branch1 = nn.Sequential(conv_bn(cin, cin, 3, stride, groups=cin, act=None), conv_bn(cin, branch, 1))
        else:
            self.branch1 = None
        first = cin if stride > 1 else branch
        self.branch2 = nn.Sequential(conv_bn(first, branch, 1), conv_bn(branch, branch, 3, stride, groups=branch,
                                                                          act=None), conv_bn(branch, branch, 1))

    def forward(self, x):
        if self.branch1 is None:
            if self.static_shapes:
                half = int(x.shape[1]) // 2
                x1, x2 = x[:, :half], x[:, half:]
            else:
                x1, x2 = x.chunk(2, dim=1)  # channel split
            out = torch.cat((x1, self.branch2(x2)), dim=1)
        else:
            out = torch.cat((self.branch1(x), self.branch2(x)), dim=1)
        return channel_shuffle(out, 2, self.static_shapes)


def use_static_shapes(model: nn.Module) -> nn.Module:
    """Make every ShuffleNet unit of ``model`` export with constant shapes (see ShuffleUnit)."""
    for m in model.modules():
        if isinstance(m, ShuffleUnit):
            m.static_shapes = True
    return model


class ShuffleNetV2(nn.Module):
    # stage output channels per width (paper table 5); other widths scale 1.0x and round to 4
    CHANNELS = {0.5: (48, 96, 192, 1024), 1.0: (116, 232, 464, 1024), 1.5: (176, 352, 704, 1024),
                2.0: (244, 488, 976, 2048)}
    REPEATS = (4, 8, 4)

    def __init__(self, in_channels: int = 3, num_classes: int = 1000, width: float = 1.0):
        super().__init__()
        chans = self.CHANNELS.get(width) or (*(make_divisible(c * width, 4) for c in (116, 232, 464)), 1024)
        c0 = 24
        self.stem = nn.Sequential(conv_bn(in_channels, c0, 3, 2), nn.MaxPool2d(3, 2, 1))
        stages, cin = [], c0
        for n, c in zip(self.REPEATS, chans[:3]):
            for i in range(n):
                stages.append(ShuffleUnit(cin, c, 2 if i == 0 else 1))
                cin = c
        self.stages = nn.Sequential(*stages)
        self.conv5 = conv_bn(cin, chans[3], 1)
        self.fc = nn.Linear(chans[3], num_classes)

    def forward(self, x):
        x = self.conv5(self.stages(self.stem(x)))
        return self.fc(x.mean([2, 3]))  # global average pool as in the reference


def mobilenet_v2(in_channels: int, num_classes: int, width: float, input_size: int) -> nn.Module:
    return MobileNetV2(in_channels, num_classes, width)


def resnet18(in_channels: int, num_classes: int, width: float, input_size: int) -> nn.Module:
    channels = [max(8, make_divisible(c * width)) for c in (64, 128, 256, 512)]
    return ResNet([2, 2, 2, 2], channels, in_channels, num_classes)


def efficientnet_b0(in_channels: int, num_classes: int, width: float, input_size: int) -> nn.Module:
    return EfficientNetB0(in_channels, num_classes, width)


def shufflenet_v2(in_channels: int, num_classes: int, width: float, input_size: int) -> nn.Module:
    return ShuffleNetV2(in_channels, num_classes, width)
