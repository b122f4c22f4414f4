"""Homework 5 graded fairly: correct submissions written differently from the reference keep full
marks on the unit tests (reparametrize, kld, vae_loss), and common mistakes lose their own tests
with feedback that names them (see tests/variation_support.py). The uploads are real: source.zip
from the changed answer/ folder and an output.zip of placeholder codes (the unit tests never read
them)."""
from __future__ import annotations

import numpy as np

from grading_support import grade
from autograder.homeworks.hw5 import hidden
from data import signs

from test_grade_hw5 import upload, write_codes
from variation_support import variation_tests

V = "answer/vae.py"
UNITS = [hidden.reparametrize, hidden.kld, hidden.vae_loss]
REPARAM = "    z = mu + torch.exp(0.5 * log_var) * torch.randn_like(mu)\n"
KLD = "    kl = -0.5 * torch.sum(1 + log_var - mu.pow(2) - log_var.exp(), dim=1)\n"
LOSS = "    loss = (bce + beta * kld(mu, log_var).sum()) / x.shape[0]\n"

CORRECT = {
    "reparametrize_torch_normal": ([(V, REPARAM, "    z = mu + torch.exp(0.5 * log_var) * torch.normal(0.0, 1.0, size=mu.shape)\n")],
                                   ()),
    "reparametrize_randn_to_mu": ([(V, REPARAM, "    z = mu + torch.exp(0.5 * log_var) * torch.randn(mu.shape).to(mu)\n")], ()),
    "kld_from_torch_distributions": ([(V, KLD, "    from torch.distributions import Normal, kl_divergence\n"
                                               "    q = Normal(mu, torch.exp(0.5 * log_var))\n"
                                               "    kl = kl_divergence(q, Normal(torch.zeros_like(mu), torch.ones_like(mu))).sum(dim=1)\n")],
                                     ()),
    "loss_mean_of_per_image_sums": ([(V, "    bce = F.binary_cross_entropy(x_hat, x, reduction=\"sum\")\n" + LOSS,
                                      "    bce = F.binary_cross_entropy(x_hat, x, reduction='none').flatten(1).sum(1)\n"
                                      "    loss = (bce + beta * kld(mu, log_var)).mean()\n")], ()),
    "prints_everywhere": ([(V, REPARAM, REPARAM + "    print('z', tuple(z.shape))\n"),
                           (V, LOSS, LOSS + "    print('loss', float(loss))\n")], ()),
}

WRONG = {
    "kl_squared_variance": ([(V, KLD, KLD.replace("log_var.exp()", "log_var.exp() ** 2"))],
                            (hidden.kld, hidden.vae_loss), {hidden.kld.name: "exp(log_var) ** 2",
                                                            hidden.vae_loss.name: "exp(log_var) ** 2"}),
    "kl_twice_log_var": ([(V, KLD, KLD.replace("1 + log_var", "1 + 2 * log_var"))],
                         # the loss moves by less than its tolerance: only kld can see it
                         (hidden.kld,), {hidden.kld.name: "uses 2 * log_var"}),
    "kl_not_divided_by_n": ([(V, LOSS, "    loss = bce / x.shape[0] + beta * kld(mu, log_var).sum()\n")],
                            (hidden.vae_loss,), {hidden.vae_loss.name: "not divided by N"}),
    "mse_instead_of_bce": ([(V, "    bce = F.binary_cross_entropy(x_hat, x, reduction=\"sum\")\n",
                             "    bce = F.mse_loss(x_hat, x, reduction=\"sum\")\n")],
                           (hidden.vae_loss,), {hidden.vae_loss.name: "squared error (MSE)"}),
    "cuda_hard_coded": ([(V, REPARAM, "    z = mu + torch.exp(0.5 * log_var) * torch.randn(mu.shape).cuda()\n")],
                        (hidden.reparametrize,), {hidden.reparametrize.name: "without a GPU"}),
}


def _upload(homework, tests, folder, tmp_path, name):
    """The changed answer/ as source.zip, with an output.zip of placeholder codes."""
    codes = write_codes(tmp_path / name / "codes", np.zeros((signs.tensors("dev").shape[0], 4)),
                        np.zeros((signs.tensors("test").shape[0], 4)))
    return grade(homework, upload(folder / "answer", codes), tests=tests, options={"call_timeout": 60})


test_correct_variation_keeps_full_marks, test_common_mistake_loses_its_tests_with_a_hint = \
    variation_tests("hw5", CORRECT, WRONG, UNITS, _upload)
