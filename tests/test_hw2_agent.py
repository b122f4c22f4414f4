"""Homework 2's agent asks a trained AuxAutoencoder for its class scores without the decoder only
when the model's own forward pass shows they are the same: every other model is graded on what its
forward pass returns."""
from __future__ import annotations

import pytest
import torch
from torch import nn

from autograder.homeworks.hw2 import agent


class Aux(nn.Module):
    """A small aux autoencoder; ``scores`` says how forward makes its class scores from the code."""

    def __init__(self, scores=None):
        super().__init__()
        torch.manual_seed(0)
        self.encoder = nn.Sequential(nn.Conv2d(3, 4, 4, 4), nn.Flatten(), nn.Linear(4 * 16 * 16, 8))
        self.decoder = nn.Sequential(nn.Linear(8, 3 * 64 * 64), nn.Sigmoid(), nn.Unflatten(1, (3, 64, 64)))
        self.classifier = nn.Sequential(nn.Linear(8, 16), nn.ReLU(), nn.Linear(16, 3))
        self.scores = scores or (lambda model, z: model.classifier(z))
        self.decoded = 0

    def encode(self, x):
        return self.encoder(x)

    def decode(self, z):
        self.decoded += z.shape[0]
        return self.decoder(z)

    def forward(self, x):
        z = self.encode(x)
        return self.decode(z), self.scores(self, z)


@pytest.fixture
def images():
    return torch.randint(0, 256, (250, 3, 64, 64), dtype=torch.uint8, generator=torch.Generator().manual_seed(1))


def _forward_scores(model, images):
    with torch.no_grad():
        model.eval()
        return torch.cat([model(images[i:i + 100].float() / 255)[1] for i in range(0, images.shape[0], 100)])


def _logits(model, images):
    agent.STATE.clear()
    agent.STATE.update(model=model, kind="aux")
    return agent.logits(images)


def test_the_stencils_model_skips_the_decoder_after_the_first_batch_with_the_same_scores(images):
    model = Aux()
    expected = _forward_scores(Aux(), images)
    got = _logits(model, images)
    assert torch.equal(got, expected)
    assert agent.STATE["logits_by_code"] is True
    assert model.decoded == 100   # the first batch only, which showed the two ways agree


@pytest.mark.parametrize("scores", [
    lambda model, z: model.classifier(torch.relu(z)),          # classifies something else than the code
    lambda model, z: model.classifier(z).double(),             # another dtype than the classifier's own
    lambda model, z: model.classifier(z) + 1e-6,               # differs in the last bits only
], ids=["relu_of_the_code", "float64_scores", "shifted_scores"])
def test_a_forward_pass_that_is_not_classifier_of_the_code_is_graded_as_it_is(images, scores):
    model = Aux(scores)
    got = _logits(model, images)
    assert torch.equal(got, _forward_scores(Aux(scores), images))
    assert agent.STATE["logits_by_code"] is False
    assert model.decoded == images.shape[0]


def test_a_model_without_a_classifier_attribute_keeps_its_forward_pass(images):
    class Headless(Aux):
        def __init__(self):
            super().__init__(lambda model, z: model.head(z))
            self.head, self.classifier = self.classifier, None

    got = _logits(Headless(), images)
    assert torch.equal(got, _forward_scores(Headless(), images))
    assert agent.STATE["logits_by_code"] is False


def test_a_classifier_that_fails_later_hands_the_rest_back_to_the_forward_pass(images):
    class Fickle(nn.Module):
        def __init__(self, inner):
            super().__init__()
            self.inner, self.calls = inner, 0

        def forward(self, z):
            self.calls += 1
            if self.calls == 3:   # forward's first batch and the check passed; the short way then fails
                raise RuntimeError("only twice")
            return self.inner(z)

    model = Aux()
    expected = _forward_scores(Aux(), images)
    model.classifier = Fickle(model.classifier)
    got = _logits(model, images)
    assert torch.equal(got, expected)
    assert agent.STATE["logits_by_code"] is False


def test_building_or_training_a_model_decides_again(images, monkeypatch):
    """The verdict belongs to one model: ``build``, which ``train`` calls first, forgets it."""
    from types import SimpleNamespace

    def train_epoch(model, loader, args, aux):   # its training makes forward classify relu(z)
        model.scores = lambda model, z: model.classifier(torch.relu(z))
        return {"mse": 0.1, "accuracy": 0.5}

    modules = {"autoencoder": SimpleNamespace(AuxAutoencoder=lambda latent, classes, width: Aux()),
               "assignment": SimpleNamespace(train_epoch=train_epoch, parseArguments=lambda argv: SimpleNamespace(
                   latent_size=8, width=4, lam=1.0, batch_size=50))}
    monkeypatch.setattr(agent, "student", modules.__getitem__)
    agent.STATE.clear()
    agent.build("aux")
    agent.logits(images)
    assert agent.STATE["logits_by_code"] is True
    agent.train("aux", images[:100], torch.zeros(100, dtype=torch.int64), 1, 0)
    model = agent.STATE["model"]
    got = agent.logits(images)
    assert agent.STATE["logits_by_code"] is False
    assert torch.equal(got, _forward_scores(model, images))
