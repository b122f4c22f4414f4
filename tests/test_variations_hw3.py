"""Homework 3 graded fairly: correct submissions written differently from the reference keep full
marks on every test without training except the one whose name states the convention they break;
common mistakes lose their own tests with feedback that names them (see tests/variation_support.py)."""
from __future__ import annotations

from autograder.homeworks.hw3 import hidden

from variation_support import variation_tests

V = "vae.py"
FAST = hidden.UNIT_TESTS + hidden.INTERPOLATION_TESTS + hidden.PAIR_TESTS
DECODE = "        x_hat = torch.sigmoid(logits).reshape(z.shape[0], IMAGE_SIDE, IMAGE_SIDE)\n"
SAMPLE = "    z = mu + torch.exp(0.5 * logvar) * torch.randn_like(mu)\n"
LOSS = ("    bce = F.binary_cross_entropy(x_hat, x, reduction=\"sum\")\n"
        "    kl = -0.5 * torch.sum(1 + logvar - mu.pow(2) - logvar.exp())\n"
        "    loss = (bce + kl) / x.shape[0]\n")

CORRECT = {
    # images as (B, 1, 28, 28) or (B, 784): only the shapes test states (B, 28, 28)
    "decoder_with_channel": ([(V, DECODE, "        x_hat = torch.sigmoid(logits).view(-1, 1, 28, 28)\n")],
                             (hidden.shapes,)),
    "decoder_flat": ([(V, DECODE, "        x_hat = torch.sigmoid(logits)\n")], (hidden.shapes,)),
    "sample_torch_normal": ([(V, SAMPLE, "    z = mu + torch.exp(0.5 * logvar) * torch.normal(0.0, 1.0, size=mu.shape)\n")],
                            ()),
    "sample_randn_to_mu": ([(V, SAMPLE, "    z = mu + torch.exp(0.5 * logvar) * torch.randn(mu.shape).to(mu)\n")], ()),
    "loss_mean_of_per_image_sums": ([(V, LOSS, "    bce = F.binary_cross_entropy(x_hat, x, reduction='none').flatten(1).sum(1)\n"
                                               "    kl = -0.5 * (1 + logvar - mu.pow(2) - logvar.exp()).sum(1)\n"
                                               "    loss = (bce + kl).mean()\n")], ()),
    "batchnorm_and_dropout": ([(V, "        self.hidden = nn.Linear(PIXELS, 400)\n",
                                "        self.hidden = nn.Sequential(nn.Linear(PIXELS, 400), nn.BatchNorm1d(400), nn.Dropout(0.2))\n")],
                              ()),
    "float64_networks": ([(V, "        self.logvar_head = nn.Linear(400, latent_dim)\n",
                           "        self.logvar_head = nn.Linear(400, latent_dim)\n        self.double()\n"),
                          (V, "        self.out = nn.Linear(400, PIXELS)\n", "        self.out = nn.Linear(400, PIXELS)\n        self.double()\n"),
                          (V, "x.reshape(x.shape[0], PIXELS)", "x.reshape(x.shape[0], PIXELS).double()"),
                          (V, "self.out(F.relu(self.hidden(z)))", "self.out(F.relu(self.hidden(z.double())))")], ()),
    "prints_everywhere": ([(V, SAMPLE, SAMPLE + "    print('sampled', z.shape)\n"),
                           (V, DECODE, DECODE + "        print('decoded', x_hat.shape)\n")], ()),
}

KL = "    kl = -0.5 * torch.sum(1 + logvar - mu.pow(2) - logvar.exp())\n"
WRONG = {
    "kl_squared_variance": ([(V, KL, KL.replace("logvar.exp()", "logvar.exp() ** 2"))], (hidden.vae_loss,),
                            {hidden.vae_loss.name: "exp(logvar) ** 2"}),
    "kl_twice_logvar": ([(V, KL, KL.replace("1 + logvar", "1 + 2 * logvar"))], (hidden.vae_loss,),
                        {hidden.vae_loss.name: "uses 2 * logvar"}),
    "kl_not_divided_by_n": ([(V, "    loss = (bce + kl) / x.shape[0]\n", "    loss = bce / x.shape[0] + kl\n")],
                            (hidden.vae_loss,), {hidden.vae_loss.name: "not divided by N"}),
    "mse_instead_of_bce": ([(V, "    bce = F.binary_cross_entropy(x_hat, x, reduction=\"sum\")\n",
                             "    bce = F.mse_loss(x_hat, x, reduction=\"sum\")\n")],
                           (hidden.vae_loss,), {hidden.vae_loss.name: "squared error (MSE)"}),
    "cuda_hard_coded": ([(V, SAMPLE, "    z = mu + torch.exp(0.5 * logvar) * torch.randn(mu.shape).cuda()\n")],
                        (hidden.sample,), {hidden.sample.name: "without a GPU"}),
}


test_correct_variation_loses_only_the_convention_it_breaks, test_common_mistake_loses_its_tests_with_a_hint = \
    variation_tests("hw3", CORRECT, WRONG, FAST)
