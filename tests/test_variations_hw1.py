"""Homework 1 graded fairly: correct submissions written differently from the reference keep full
marks on every unit test except the one whose name states the convention they break; common
mistakes lose their own tests with feedback that names them (see tests/variation_support.py)."""
from __future__ import annotations

from autograder.homeworks.hw1 import hidden

from variation_support import variation_tests

AE, L = "autoencoder.py", "likelihoods.py"
UNFLATTEN = (AE, "            nn.Unflatten(1, _image_shape(D)),\n", "")
NLL_SUM = "    nll = -log_likelihood.flatten(start_dim=1).sum(dim=1)\n"

CORRECT = {
    # the decoder returns (N, 784); forward reshapes: only the shapes test states the decoder's layout
    "decoder_flat_view_in_forward": ([UNFLATTEN, (AE, "x_hat = self.decoder(self.encoder(x))",
                                                  "x_hat = self.decoder(self.encoder(x)).view(-1, 1, 28, 28)")],
                                     (hidden.shapes,)),
    # one NLL per image as a column (N, 1): only the shapes test states (N,)
    "nll_as_column": ([(L, NLL_SUM, "    nll = -log_likelihood.flatten(start_dim=1).sum(dim=1, keepdim=True)\n")],
                      (hidden.shapes,)),
    "batchnorm_and_dropout": ([(AE, "            nn.Linear(D, 256), nn.ReLU(),\n",
                                "            nn.Linear(D, 256), nn.BatchNorm1d(256), nn.ReLU(), nn.Dropout(0.2),\n"),
                               (AE, "            nn.Linear(Z, 128), nn.ReLU(),\n",
                                "            nn.Linear(Z, 128), nn.BatchNorm1d(128), nn.ReLU(), nn.Dropout(0.1),\n")], ()),
    "ordered_dict_decoder": ([(AE, "        self.decoder = nn.Sequential(\n            nn.Linear(Z, 128), nn.ReLU(),\n"
                                   "            nn.Linear(128, 256), nn.ReLU(),\n            nn.Linear(256, D), nn.Sigmoid(),\n"
                                   "            nn.Unflatten(1, _image_shape(D)),\n        )\n",
                               "        from collections import OrderedDict\n"
                               "        self.decoder = nn.Sequential(OrderedDict([\n"
                               "            ('fc1', nn.Linear(Z, 128)), ('a1', nn.ReLU()),\n"
                               "            ('fc2', nn.Linear(128, 256)), ('a2', nn.ReLU()),\n"
                               "            ('out', nn.Linear(256, D)), ('sig', nn.Sigmoid()),\n"
                               "            ('img', nn.Unflatten(1, _image_shape(D))),\n        ]))\n")], ()),
    "prints_everywhere": ([(AE, "        x_hat = self.decoder(self.encoder(x))\n",
                            "        x_hat = self.decoder(self.encoder(x))\n        print('forward', x_hat.shape)\n"),
                           (L, NLL_SUM, NLL_SUM + "    print('nll', nll.shape)\n")], ()),
    # a float64 model: the grader's float32 inputs reach it as float64
    "float64_model": ([(AE, "            nn.Unflatten(1, _image_shape(D)),\n        )\n",
                        "            nn.Unflatten(1, _image_shape(D)),\n        )\n        self.double()\n"),
                       (AE, "x_hat = self.decoder(self.encoder(x))", "x_hat = self.decoder(self.encoder(x.double()))"),
                       (AE, "model.encoder(x.to(device))", "model.encoder(x.to(device, torch.float64))")], ()),
    "samples_in_float64": ([(AE, "torch.rand(num_samples, codes.shape[1], dtype=codes.dtype)",
                             "torch.rand(num_samples, codes.shape[1], dtype=torch.float64)")], ()),
    "gaussian_from_torch_distributions": ([(AE, "    noise = torch.randn(num_samples, codes.shape[1], dtype=data.dtype)\n"
                                                "    samples = (mean + noise @ factor.T).to(codes.dtype)\n",
                                            "    fitted = torch.distributions.MultivariateNormal(mean, scale_tril=factor)\n"
                                            "    samples = fitted.sample((num_samples,)).float()\n")], ()),
    "codes_collected_in_a_list": ([(AE, "    codes = torch.cat([model.encoder(x.to(device)).cpu() for x, _ in loader])\n",
                                    "    parts = []\n    for x, _ in loader:\n        parts.append(model.encoder(x.to(device)))\n"
                                    "    codes = torch.cat(parts, dim=0)\n")], ()),
}

WRONG = {
    "cuda_hard_coded": ([(AE, "torch.rand(num_samples, codes.shape[1], dtype=codes.dtype)",
                          "torch.rand(num_samples, codes.shape[1], dtype=codes.dtype).cuda()")],
                        (hidden.uniform_sampler,), {hidden.uniform_sampler.name: "without a GPU"}),
    "sampler_missing": ([(AE, "def sample_gaussian(codes, num_samples):", "def sample_normal(codes, num_samples):")],
                        (hidden.gaussian_sampler,), {hidden.gaussian_sampler.name: "keep each one with the name"}),
}


test_correct_variation_loses_only_the_convention_it_breaks, test_common_mistake_loses_its_tests_with_a_hint = \
    variation_tests("hw1", CORRECT, WRONG, hidden.UNIT_TESTS)
