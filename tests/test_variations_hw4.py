"""Homework 4 graded fairly: correct submissions written differently from the reference keep full
marks on every test except the one whose name states the convention they break, and common
mistakes lose their own tests with feedback that names them. The fast ones run the unit tests
only; the slow one trains a variation that breaks the decoder's layout (and uses several other
correct choices) and is graded by every test."""
from __future__ import annotations

import pytest

from grading_support import grade
from autograder.homeworks.hw4 import hidden

from grading_support import build
from variation_support import check, variation_tests

V, A = "vae.py", "assignment.py"
NO_UNFLATTEN = (V, "            nn.Unflatten(1, _image_shape(D)),\n", "")
FLAT_VAE_FORWARD = (V, "x_hat = self.decoder(reparametrize(mu, logvar))",
                    "x_hat = self.decoder(reparametrize(mu, logvar)).view(-1, 1, 28, 28)")
FLAT_CVAE_FORWARD = (V, "x_hat = self.decoder(torch.cat([reparametrize(mu, logvar), c], dim=1))",
                     "x_hat = self.decoder(torch.cat([reparametrize(mu, logvar), c], dim=1)).reshape(x.shape)")
RENAMED_HEADS = [(V, "self.mu_layer", "self.fc_mu"), (V, "self.logvar_layer", "self.fc_logvar")]
NO_HIDDEN_DIM = (V, "        self.hidden_dim = H\n", "")
LOSS_MEAN = (V, "    kl = -0.5 * torch.sum(1 + logvar - mu.pow(2) - logvar.exp())\n"
                "    loss = (bce_function(x_hat, x) + kl) / x.shape[0]\n",
             "    per_pixel = F.binary_cross_entropy(x_hat, x, reduction='none')\n"
             "    kl = -0.5 * (1 + logvar - mu.pow(2) - logvar.exp()).sum(dim=1)\n"
             "    loss = (per_pixel.flatten(1).sum(dim=1) + kl).mean()\n")
REPARAM = "    z = mu + torch.exp(0.5 * logvar) * torch.randn_like(mu)\n"

# Correct submissions written differently: name -> (edits, tests that state the convention broken).
CORRECT = {
    # hidden width kept in a local variable, self.hidden_dim left None: the grader never reads it
    "hidden_dim_unset": ([NO_HIDDEN_DIM], ()),
    # other hidden sizes under other names
    "hidden_dims_renamed": ([(V, "H, D, Z = 400, input_size, latent_size\n        self.hidden_dim = H\n",
                              "H, D, Z = 256, input_size, latent_size\n"
                              "        self.hidden_dim1 = self.hidden_dim2 = self.hidden_dim3 = H\n"),
                             (V, "H, D, Z, C = 400, input_size, latent_size, num_classes\n        self.hidden_dim = H\n",
                              "H, D, Z, C = 512, input_size, latent_size, num_classes\n")], ()),
    # the heads under other names
    "heads_renamed": (RENAMED_HEADS, ()),
    # the decoder returns (N, 784); forward reshapes with view / reshape
    "decoder_flat_view_in_forward": ([NO_UNFLATTEN, FLAT_VAE_FORWARD, FLAT_CVAE_FORWARD], (hidden.decoder_shapes,)),
    # the decoder returns (N, 1, 784); forward reshapes with an nn.Unflatten of its own
    "decoder_n_1_784_unflatten_in_forward": (
        [(V, "nn.Unflatten(1, _image_shape(D))", "nn.Unflatten(1, (1, D))"),
         (V, "        self.decoder = None\n", "        self.decoder = None\n        self.to_image = nn.Unflatten(2, (28, 28))\n"),
         (V, "x_hat = self.decoder(reparametrize(mu, logvar))", "x_hat = self.to_image(self.decoder(reparametrize(mu, logvar)))"),
         (V, "x_hat = self.decoder(torch.cat([reparametrize(mu, logvar), c], dim=1))",
          "x_hat = self.to_image(self.decoder(torch.cat([reparametrize(mu, logvar), c], dim=1)))")],
        (hidden.decoder_shapes,)),
    # the VAE's forward returns a flat x_hat; its loss_function copes with either layout
    "vae_forward_flat": ([(V, "x_hat = self.decoder(reparametrize(mu, logvar))",
                           "x_hat = self.decoder(reparametrize(mu, logvar)).flatten(1)"),
                          (V, "loss = (bce_function(x_hat, x) + kl)", "loss = (bce_function(x_hat, x.reshape(x_hat.shape)) + kl)")],
                         (hidden.vae_shapes,)),
    "reparametrize_torch_normal": ([(V, REPARAM, "    eps = torch.normal(0.0, 1.0, size=mu.shape)\n"
                                                 "    z = mu + torch.exp(0.5 * logvar) * eps\n")], ()),
    "reparametrize_randn_to_mu": ([(V, REPARAM, "    z = mu + torch.exp(0.5 * logvar) * torch.randn(mu.shape).to(mu)\n")],
                                  ()),
    "reparametrize_in_place_idiom": ([(V, REPARAM, "    std = logvar.mul(0.5).exp_()\n"
                                                   "    eps = std.new(std.size()).normal_()\n"
                                                   "    z = eps.mul(std).add_(mu)\n")], ()),
    "loss_mean_of_per_image_sums": ([LOSS_MEAN], ()),
    # its own BCE and no bce_function at all: no test depends on the given helper
    "own_bce_no_bce_function": ([(V, "bce_function(x_hat, x) + kl",
                                  "-(x * torch.log(x_hat.clamp_min(1e-12)) + (1 - x) * torch.log((1 - x_hat)"
                                  ".clamp_min(1e-12))).sum() + kl"),
                                 (V, "def bce_function(x_hat, x):", "def _unused_bce(x_hat, x):")], ()),
    "kl_from_torch_distributions": ([(V, "    kl = -0.5 * torch.sum(1 + logvar - mu.pow(2) - logvar.exp())\n",
                                      "    from torch.distributions import Normal, kl_divergence\n"
                                      "    q = Normal(mu, torch.exp(0.5 * logvar))\n"
                                      "    kl = kl_divergence(q, Normal(torch.zeros_like(mu), torch.ones_like(mu))).sum()\n")],
                                    ()),
    "batchnorm_and_dropout": ([(V, "            nn.Linear(D, H), nn.ReLU(),\n",
                                "            nn.Linear(D, H), nn.BatchNorm1d(H), nn.ReLU(), nn.Dropout(0.2),\n"),
                               (V, "            nn.Linear(Z, H), nn.ReLU(),\n",
                                "            nn.Linear(Z, H), nn.BatchNorm1d(H), nn.ReLU(), nn.Dropout(0.1),\n"),
                               (V, "            nn.Linear(Z + C, H), nn.ReLU(),\n",
                                "            nn.Linear(Z + C, H), nn.BatchNorm1d(H), nn.ReLU(), nn.Dropout(0.1),\n")],
                              ()),
    "ordered_dict_sequentials": ([(V, "import math\n", "import math\nfrom collections import OrderedDict\n"),
                                  (V, "        self.mu_layer = nn.Linear(H, Z)\n        self.logvar_layer = nn.Linear(H, Z)\n"
                                      "        self.decoder = nn.Sequential(\n"
                                      "            nn.Linear(Z, H), nn.ReLU(),\n"
                                      "            nn.Linear(H, H), nn.ReLU(),\n"
                                      "            nn.Linear(H, H), nn.ReLU(),\n"
                                      "            nn.Linear(H, D), nn.Sigmoid(),\n"
                                      "            nn.Unflatten(1, _image_shape(D)),\n        )\n",
                                   "        self.mu_layer = nn.Linear(H, Z)\n        self.logvar_layer = nn.Linear(H, Z)\n"
                                   "        self.decoder = nn.Sequential(OrderedDict([\n"
                                   "            ('fc1', nn.Linear(Z, H)), ('relu1', nn.ReLU()),\n"
                                   "            ('fc2', nn.Linear(H, H)), ('relu2', nn.ReLU()),\n"
                                   "            ('fc3', nn.Linear(H, H)), ('relu3', nn.ReLU()),\n"
                                   "            ('out', nn.Linear(H, D)), ('sigmoid', nn.Sigmoid()),\n"
                                   "            ('image', nn.Unflatten(1, _image_shape(D))),\n        ]))\n")], ()),
    "prints_everywhere": ([(V, "import math\n", "import math\nprint('loading my vae.py')\n"),
                           (V, REPARAM, REPARAM + "    print('z', z.shape)\n"),
                           (V, "    loss = (bce_function(x_hat, x) + kl) / x.shape[0]\n",
                            "    loss = (bce_function(x_hat, x) + kl) / x.shape[0]\n    print('loss', loss.item())\n")],
                          ()),
    # a float64 model: forward casts its inputs; the grader's codes reach the decoder as float64
    "float64_model": ([(V, "            nn.Unflatten(1, _image_shape(D)),\n        )\n",
                        "            nn.Unflatten(1, _image_shape(D)),\n        )\n        self.double()\n"),
                       (V, "        hidden = self.encoder(x)\n", "        hidden = self.encoder(x.double())\n"),
                       (V, "torch.cat([x.flatten(start_dim=1), c], dim=1)",
                        "torch.cat([x.flatten(start_dim=1), c], dim=1).double()"),
                       (V, "torch.cat([reparametrize(mu, logvar), c], dim=1)",
                        "torch.cat([reparametrize(mu, logvar), c.double()], dim=1)")], ()),
    "one_hot_from_eye": ([(A, "    targets = torch.zeros(labels.shape[0], class_size, device=labels.device)\n"
                              "    targets[torch.arange(labels.shape[0], device=labels.device), labels.long()] = 1.0\n",
                           "    targets = torch.eye(class_size, device=labels.device)[labels.long()]\n")], ()),
}

# Common mistakes: name -> (edits, tests they lose, {test: text its feedback must contain}).
KL = "    kl = -0.5 * torch.sum(1 + logvar - mu.pow(2) - logvar.exp())\n"
WRONG = {
    "kl_squared_variance": ([(V, KL, KL.replace("logvar.exp()", "logvar.exp() ** 2"))],
                            (hidden.loss_function, hidden.loss_kl_term,),
                            {hidden.loss_kl_term.name: "exp(logvar) ** 2", hidden.loss_function.name: "exp(logvar) ** 2"}),
    "kl_twice_logvar": ([(V, KL, KL.replace("1 + logvar", "1 + 2 * logvar"))],
                        (hidden.loss_function, hidden.loss_kl_term,), {hidden.loss_kl_term.name: "uses 2 * logvar"}),
    "kl_not_divided_by_n": ([(V, "loss = (bce_function(x_hat, x) + kl) / x.shape[0]",
                              "loss = bce_function(x_hat, x) / x.shape[0] + kl")],
                            (hidden.loss_function, hidden.loss_kl_term,),
                            {hidden.loss_kl_term.name: "not divided by N", hidden.loss_function.name: "not divided by N"}),
    "mse_instead_of_bce": ([(V, "loss = (bce_function(x_hat, x) + kl)", "loss = (F.mse_loss(x_hat, x, reduction='sum') + kl)")],
                           (hidden.loss_function,), {hidden.loss_function.name: "squared error (MSE)"}),
    "cuda_hard_coded": ([(V, REPARAM, "    z = mu + torch.exp(0.5 * logvar) * torch.randn(mu.shape).cuda()\n")],
                        (hidden.reparametrize_statistics, hidden.reparametrize_gradients, hidden.vae_shapes,
                         hidden.cvae_shapes,),
                        {hidden.reparametrize_statistics.name: "without a GPU", hidden.vae_shapes.name: "without a GPU"}),
    # the decoder test does not go through forward(): a broken forward costs the forward tests only
    "forward_returns_no_logvar": ([(V, "        mu, logvar = self.mu_layer(hidden), self.logvar_layer(hidden)\n"
                                       "        x_hat = self.decoder(reparametrize(mu, logvar))\n",
                                    "        mu = self.mu_layer(hidden)\n"
                                    "        x_hat = self.decoder(reparametrize(mu, torch.zeros_like(mu)))\n")],
                                  (hidden.vae_shapes,), {hidden.vae_shapes.name: "logvar"}),
    "one_hot_missing": ([(A, "def one_hot(labels, class_size):", "def onehot(labels, class_size):")],
                        (hidden.one_hot,), {hidden.one_hot.name: "keep each one with the name"}),
}


test_correct_variation_loses_only_the_convention_it_breaks, test_common_mistake_loses_its_tests_with_a_hint = \
    variation_tests("hw4", CORRECT, WRONG, hidden.UNIT_TESTS)


# One training run: the decoder returns (N, 1, 784) and forward reshapes it (the layout only the
# "Decoders" test states), hidden_dim unset, heads renamed, the loss a mean of per-image sums and
# the noise drawn with randn(...).to(mu). Every trained test measures the model through its
# decoder, so each must normalise the layout: the grading loses the "Decoders" points only.
CASCADE = [(V, "nn.Unflatten(1, _image_shape(D))", "nn.Unflatten(1, (1, D))"),
           (V, "x_hat = self.decoder(reparametrize(mu, logvar))",
            "x_hat = self.decoder(reparametrize(mu, logvar)).view(-1, 1, 28, 28)"),
           FLAT_CVAE_FORWARD, NO_HIDDEN_DIM, *RENAMED_HEADS, LOSS_MEAN,
           (V, REPARAM, "    z = mu + torch.exp(0.5 * logvar) * torch.randn(mu.shape).to(mu)\n")]


@pytest.mark.slow
def test_trained_variation_loses_only_the_decoder_layout_points(tmp_path):
    folder = build("hw4", tmp_path / "cascade", CASCADE)
    results = grade("hw4", folder)
    check(results, hidden.TESTS, (hidden.decoder_shapes,))
    assert results["score"] == 100 - hidden.decoder_shapes.points, results["score"]
