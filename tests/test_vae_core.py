"""The core's VAE judgements and the agents' call helpers, on tensors made here (no student
process): each accepts the right answer and rejects a known wrong one with its hint."""
import pytest
import torch

from autograder.pipeline import calls, vae
from autograder.pipeline.score import Fail


def _reparametrize(mu, logvar, std=lambda logvar: torch.exp(0.5 * logvar)):
    return mu + std(logvar) * torch.randn_like(mu)


def test_reparametrisation_judgements_accept_the_trick_and_name_wrong_sigmas_and_detached_codes():
    torch.manual_seed(0)
    mu, logvar, weights = vae.reparametrize_inputs(torch.Generator().manual_seed(1), 4096, 15)
    z, (grad_mu, grad_logvar) = calls.with_gradients(_reparametrize, weights, mu, logvar)
    vae.judge_gradients(grad_mu, grad_logvar, z.detach(), mu, logvar, weights)
    mean, std = vae.judge_noise(z.detach(), mu, logvar)
    assert abs(mean) < 0.02 and abs(std - 1) < 0.02

    wrong = _reparametrize(mu, logvar, std=torch.exp)   # sigma = exp(logvar)
    with pytest.raises(Fail, match="exp\\(0.5 \\* logvar\\)"):
        vae.judge_noise(wrong, mu, logvar)
    z, grads = calls.with_gradients(lambda m, v: _reparametrize(m, v).detach(), weights, mu, logvar)
    assert grads == [None, None]
    with pytest.raises(Fail, match="No gradient reaches mu and logvar"):
        vae.judge_gradients(*grads, z, mu, logvar, weights)


def test_negative_elbo_judgement_names_a_loss_summed_over_the_batch():
    batch = vae.loss_inputs(torch.Generator().manual_seed(2), 8, (1, 28, 28), 15)
    right = vae.negative_elbo(*batch)
    vae.judge_negative_elbo(right * (1 + 1e-6), *batch, call="loss_function")
    with pytest.raises(Fail, match="summed over the batch"):
        vae.judge_negative_elbo(right * 8, *batch, call="loss_function")


class _Box:
    """Stands in for a student's process: an encoder and a decoder, optionally with a stash."""

    def __init__(self, stash: bool):
        self.stash, self.last = stash, None

    def call(self, name, *args, **_):
        if name == "encode":
            self.last = args[0]
            return args[0].flatten(1), torch.zeros(args[0].shape[0], 784)
        return self.last if self.stash else args[0].view(-1, 1, 28, 28)


def test_bottleneck_probe_passes_a_decoder_of_the_code_alone_and_catches_a_stash():
    g = torch.Generator().manual_seed(3)
    a, b = torch.rand(16, 1, 28, 28, generator=g), torch.rand(16, 1, 28, 28, generator=g)
    first, second = vae.decode_after_another_batch(_Box(False), a, b, label="VAE", image_shape=(1, 28, 28),
                                                   timeout=10)
    assert vae.judge_bottleneck(a, b, first, second, label="VAE") == 1.0
    first, second = vae.decode_after_another_batch(_Box(True), a, b, label="VAE", image_shape=(1, 28, 28),
                                                   timeout=10)
    with pytest.raises(Fail, match="must depend on z only"):
        vae.judge_bottleneck(a, b, first, second, label="VAE")


def test_timed_epochs_reads_each_report_and_marks_an_unreadable_one():
    answers = iter([3.5, torch.tensor(2.0), "n/a"])
    record = calls.timed_epochs(lambda: next(answers), 3)
    assert record["reported"][:2].tolist() == [3.5, 2.0] and torch.isnan(record["reported"][2])
    assert record["seconds"].shape == (3,) and bool((record["seconds"] >= 0).all())
