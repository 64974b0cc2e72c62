"""
dropout.torch.replace on real torchvision 0.14 models, built without weights
(nothing is downloaded): AlexNet, VGG-11, SqueezeNet 1.1, MobileNetV3-small,
EfficientNet-B0 (which has StochasticDepth) and a small VisionTransformer
(the class of vit_b_16 with 2 layers of width 32 on 32x32 images: ViT-B/16
itself is 86 M parameters, too heavy for a test of seconds).

For every model: replace() swaps every dropout module; eval output is
bitwise the original's; a train-mode forward and backward run; the dropped
fraction over all of the model's dropout modules matches p and torch.nn's
own within 5 sigma.  For the four small models two SGD steps on fixed random
data give a last-step loss within 5 sigma (sampling noise over 3 mask seeds) of
torch.nn's; AlexNet and VGG-11 (57 M and 129 M parameters, a step costs
seconds here) run the forward and backward only.  Inputs are small (32x32, AlexNet
64x64) and torch runs on one thread, to keep the test to seconds.
"""
import copy
import math
import sys
import unittest

import torch
import torchvision
import torchvision.models as models
import torchvision.ops
from torchvision.models.vision_transformer import VisionTransformer

import dropout.torch as dt

torch.set_num_threads(1)

DROPOUT_TYPES = (torch.nn.Dropout, torch.nn.Dropout1d, torch.nn.Dropout2d, torch.nn.Dropout3d,
                 torch.nn.AlphaDropout, torch.nn.FeatureAlphaDropout, torchvision.ops.StochasticDepth)


def small_vit():
    return VisionTransformer(image_size=32, patch_size=8, num_layers=2, num_heads=2,
                             hidden_dim=32, mlp_dim=64, dropout=0.1, attention_dropout=0.1,
                             num_classes=10)


# name: (builder, image size, SGD noise comparison)
MODELS = {
    "alexnet": (lambda: models.alexnet(weights=None, num_classes=10), 64, False),
    "vgg11": (lambda: models.vgg11(weights=None, num_classes=10), 32, False),
    "squeezenet1_1": (lambda: models.squeezenet1_1(weights=None, num_classes=10), 32, True),
    "mobilenet_v3_small": (lambda: models.mobilenet_v3_small(weights=None, num_classes=10), 32, True),
    "efficientnet_b0": (lambda: models.efficientnet_b0(weights=None, num_classes=10), 32, True),
    "vit_small": (small_vit, 32, True),
}
BATCH = 4


def dropout_modules(model):
    return [m for m in model.modules() if type(m) in DROPOUT_TYPES or isinstance(m, dt._Drop)]


def data(size):
    gen = torch.Generator().manual_seed(99)
    return torch.randn(BATCH, 3, size, size, generator=gen), torch.arange(BATCH) % 10


def sgd_loss(model, x, target, steps, seed):
    """The training loss of the last of `steps` SGD steps (training mode, the
    masks of torch seed `seed`)."""
    model = copy.deepcopy(model).train()
    optimizer = torch.optim.SGD(model.parameters(), lr=0.01)
    torch.manual_seed(seed)
    for _ in range(steps):
        loss = torch.nn.functional.cross_entropy(model(x), target)
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
    return loss.item()


class DropStatistics:
    """Forward hooks counting dropped units of every dropout module: elements
    (standard), rows (StochasticDepth "row").  Units whose input is 0 say
    nothing and are not counted."""

    def __init__(self, model):
        self.dropped = 0
        self.expected = 0.0
        self.variance = 0.0
        self.bad_values = 0
        self.inputs = {}
        self.handles = []
        for m in dropout_modules(model):
            self.handles.append(m.register_forward_pre_hook(self.pre_hook))
            self.handles.append(m.register_forward_hook(self.hook))

    def pre_hook(self, module, inputs):
        self.inputs[module] = inputs[0].detach().clone()  # before an in-place dropout

    def hook(self, module, inputs, output):
        x, y, p = self.inputs.pop(module), output.detach(), module.p
        if p == 0:
            return
        if getattr(module, "mode", None) == "row":
            x, y = x.flatten(1).abs().sum(1), y.flatten(1).abs().sum(1)
        live = x != 0
        n = int(live.sum())
        self.dropped += int(((y == 0) & live).sum())
        self.expected += p * n
        self.variance += p * (1 - p) * n
        kept = (y != 0) & live
        if getattr(module, "mode", None) != "row":
            self.bad_values += int((~torch.isclose(y[kept], x[kept] / (1 - p), rtol=1e-5)).sum())

    def remove(self):
        for handle in self.handles:
            handle.remove()


class TorchvisionModels(unittest.TestCase):
    def check_model(self, name):
        build, size, compare_sgd = MODELS[name]
        torch.manual_seed(0)
        original = build()
        swapped = copy.deepcopy(original)
        count = len(dropout_modules(original))
        self.assertGreater(count, 0)
        self.assertEqual(dt.replace(swapped), count)
        self.assertEqual([type(m) for m in swapped.modules() if type(m) in DROPOUT_TYPES], [])
        self.assertEqual(len(dropout_modules(swapped)), count)
        x, target = data(size)

        # Evaluation: bitwise the original model's output.
        with torch.no_grad():
            self.assertTrue(torch.equal(original.eval()(x), swapped.eval()(x)))

        # Training: forward and backward, and the dropped fraction.
        stats = {}
        for label, model in (("torch.nn", original), ("drop-in", swapped)):
            model.train()
            counter = DropStatistics(model)
            torch.manual_seed(1)
            loss = torch.nn.functional.cross_entropy(model(x), target)
            loss.backward()
            counter.remove()
            self.assertTrue(math.isfinite(loss.item()))
            self.assertTrue(all(torch.isfinite(p.grad).all() for p in model.parameters()
                                if p.grad is not None))
            stats[label] = counter
            model.zero_grad()
        ours, theirs = stats["drop-in"], stats["torch.nn"]
        sigma = math.sqrt(ours.variance)
        self.assertLess(abs(ours.dropped - ours.expected), 5 * sigma + 1)
        self.assertLess(abs(ours.dropped - theirs.dropped), 5 * math.sqrt(2) * sigma + 1)
        self.assertEqual(ours.bad_values, 0)

        # SGD: final losses over 3 mask seeds, means within 5 sigma.
        if compare_sgd:
            losses = {label: [sgd_loss(model, x, target, 2, 100 + r) for r in range(3)]
                      for label, model in (("torch.nn", original), ("drop-in", swapped))}
            a, b = losses["torch.nn"], losses["drop-in"]
            mean_a, mean_b = sum(a) / 3, sum(b) / 3
            var = (sum((v - mean_a) ** 2 for v in a) + sum((v - mean_b) ** 2 for v in b)) / 4
            bound = 5 * math.sqrt(2 * var / 3) + 1e-4 * abs(mean_a)
            self.assertLess(abs(mean_a - mean_b), bound, losses)

    def test_alexnet(self):
        self.check_model("alexnet")

    def test_vgg11(self):
        self.check_model("vgg11")

    def test_squeezenet1_1(self):
        self.check_model("squeezenet1_1")

    def test_mobilenet_v3_small(self):
        self.check_model("mobilenet_v3_small")

    def test_efficientnet_b0(self):
        self.check_model("efficientnet_b0")

    def test_vit_small(self):
        self.check_model("vit_small")


if __name__ == "__main__":
    print("torchvision", torchvision.__version__, file=sys.stderr)
    unittest.main()
