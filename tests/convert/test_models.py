"""Whole small networks exported from torch (skipped without torch), converted and compared.

Weights are random but BatchNorm statistics are randomized too, so BN folding is exercised with
non-trivial values. Tolerance 1e-4 of the output range (the issue's accuracy target): errors
accumulate over ~20 layers of float32 arithmetic in different summation orders.
"""
import io

import pytest

torch = pytest.importorskip("torch", reason="torch is an optional extra (edgekit[distill])")
nn = torch.nn


def conv_bn(c_in, c_out, k=3, stride=1, groups=1, act=nn.ReLU6):
    layers = [nn.Conv2d(c_in, c_out, k, stride, k // 2, groups=groups, bias=False), nn.BatchNorm2d(c_out)]
    return nn.Sequential(*layers, act()) if act else nn.Sequential(*layers)


class InvertedResidual(nn.Module):
    def __init__(self, c_in, c_out, stride, expand):
        super().__init__()
        mid = c_in * expand
        self.use_res = stride == 1 and c_in == c_out
        self.body = nn.Sequential(conv_bn(c_in, mid, 1), conv_bn(mid, mid, 3, stride, groups=mid),
                                  conv_bn(mid, c_out, 1, act=None))

    def forward(self, x):
        return x + self.body(x) if self.use_res else self.body(x)


class TinyMobileNetV2(nn.Module):
    def __init__(self, classes=10):
        super().__init__()
        self.features = nn.Sequential(conv_bn(3, 16, stride=2), InvertedResidual(16, 16, 1, 1),
                                      InvertedResidual(16, 24, 2, 6), InvertedResidual(24, 24, 1, 6),
                                      InvertedResidual(24, 32, 2, 6), conv_bn(32, 64, 1))
        self.pool = nn.AdaptiveAvgPool2d(1)
        self.classifier = nn.Sequential(nn.Dropout(0.2), nn.Linear(64, classes))

    def forward(self, x):
        return self.classifier(torch.flatten(self.pool(self.features(x)), 1))


class BasicBlock(nn.Module):
    def __init__(self, c_in, c_out, stride):
        super().__init__()
        self.a = conv_bn(c_in, c_out, 3, stride, act=nn.ReLU)
        self.b = conv_bn(c_out, c_out, 3, 1, act=None)
        self.down = conv_bn(c_in, c_out, 1, stride, act=None) if stride != 1 or c_in != c_out else nn.Identity()

    def forward(self, x):
        return torch.relu(self.b(self.a(x)) + self.down(x))


class TinyResNet(nn.Module):
    def __init__(self, classes=10):
        super().__init__()
        self.stem = nn.Sequential(conv_bn(3, 16, 3, 2, act=nn.ReLU), nn.MaxPool2d(3, 2, 1))
        self.layers = nn.Sequential(BasicBlock(16, 16, 1), BasicBlock(16, 32, 2))
        self.fc = nn.Linear(32, classes)

    def forward(self, x):
        return self.fc(torch.flatten(nn.functional.adaptive_avg_pool2d(self.layers(self.stem(x)), 1), 1))


def export(module, shape):
    import onnx

    torch.manual_seed(0)
    for m in module.modules():
        if isinstance(m, nn.BatchNorm2d):
            m.running_mean.uniform_(-0.5, 0.5)
            m.running_var.uniform_(0.5, 1.5)
            m.weight.data.uniform_(0.5, 1.5)
            m.bias.data.uniform_(-0.5, 0.5)
    module.eval()
    buf = io.BytesIO()
    torch.onnx.export(module, torch.randn(*shape), buf, input_names=["image"], output_names=["logits"],
                      opset_version=13, dynamo=False)
    model = onnx.load_from_string(buf.getvalue())
    model.ir_version = min(model.ir_version, 10)
    return model


@pytest.mark.filterwarnings("ignore::DeprecationWarning")  # torch's legacy exporter (dynamo=False, see BRIEF)
@pytest.mark.parametrize("net,expected", [
    # 1 input TRANSPOSE, every conv (BN folded, ReLU6 fused), 2 residual ADDs, MEAN, FC (the Flatten's
    # RESHAPE is dropped: FULLY_CONNECTED flattens by itself); no TRANSPOSE inside the network and
    # none before the classifier (1x1 spatial after pooling). The 3
    # stride-2 3x3 convs with torch's symmetric padding 1 read pads (top/left 1, bottom/right 0), which
    # TFLite SAME (0, 1) cannot express: one PAD each (XNNPACK fuses a zero PAD into the conv).
    (TinyMobileNetV2, {"TRANSPOSE": 1, "PAD": 3, "CONV_2D": 10, "DEPTHWISE_CONV_2D": 4, "ADD": 2, "MEAN": 1,
                       "FULLY_CONNECTED": 1}),
    # ResNet: 2 stride-2 3x3 convs need a PAD; so does the stem max pool: zeros, as its input is a ReLU output
    (TinyResNet, {"TRANSPOSE": 1, "PAD": 3, "CONV_2D": 6, "MAX_POOL_2D": 1, "ADD": 2, "MEAN": 1,
                  "FULLY_CONNECTED": 1}),
])
def test_whole_cnn(roundtrip, net, expected):
    model = export(net(), (1, 3, 64, 64))
    r = roundtrip(model, rtol=1e-4)
    assert r.ops == expected
    r_nhwc = roundtrip(model, rtol=1e-4, input_layout="nhwc")
    assert "TRANSPOSE" not in r_nhwc.ops
