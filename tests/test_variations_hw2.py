"""Homework 2 graded fairly: correct submissions written differently from the reference keep full
marks on every unit test except the one whose name states the convention they break; common
mistakes lose their own tests with feedback that names them (see tests/variation_support.py)."""
from __future__ import annotations

from autograder.homeworks.hw2 import hidden

from variation_support import variation_tests

AE = "autoencoder.py"
VECTOR = "        vector = encode(with_images).mean(dim=0) - encode(without_images).mean(dim=0)\n"
CLASSIFIER = "        self.classifier = nn.Sequential(nn.Linear(latent_size, 64), nn.ReLU(), nn.Linear(64, num_classes))\n"

CORRECT = {
    # the vector as a (1, Z) row: no test states its layout
    "attribute_vector_as_a_row": ([(AE, VECTOR, VECTOR.replace("mean(dim=0)", "mean(dim=0, keepdim=True)"))], ()),
    "classifier_from_an_ordered_dict": ([(AE, CLASSIFIER,
                                          "        from collections import OrderedDict\n"
                                          "        self.classifier = nn.Sequential(OrderedDict([('hidden', nn.Linear(latent_size, 64)),\n"
                                          "            ('relu', nn.ReLU()), ('scores', nn.Linear(64, num_classes))]))\n")], ()),
    "dropout_in_the_encoder": ([(AE, "            nn.Conv2d(3, f, 4, 2, 1), nn.LeakyReLU(0.2),\n",
                                 "            nn.Conv2d(3, f, 4, 2, 1), nn.LeakyReLU(0.2), nn.Dropout(0.2),\n")], ()),
    "losses_written_out": ([(AE, '    loss = F.mse_loss(x_hat, x, reduction="mean")\n', "    loss = ((x_hat - x) ** 2).mean()\n"),
                            (AE, "lam * F.cross_entropy(logits, labels)",
                             "lam * F.cross_entropy(logits, labels, reduction='sum') / labels.shape[0]")], ()),
    "float64_model": ([(AE, "            nn.ConvTranspose2d(f, 3, 4, 2, 1), nn.Sigmoid(),\n        )\n",
                        "            nn.ConvTranspose2d(f, 3, 4, 2, 1), nn.Sigmoid(),\n        )\n        self.double()\n"),
                       (AE, CLASSIFIER, CLASSIFIER + "        self.double()\n"),
                       (AE, "        return self.encoder(x)\n", "        return self.encoder(x.double())\n"),
                       (AE, "        return self.decoder(z)\n", "        return self.decoder(z.double())\n")], ()),
    "prints_everywhere": ([(AE, "        return self.decode(self.encode(x))\n",
                            "        print('forward on', tuple(x.shape))\n        return self.decode(self.encode(x))\n"),
                           (AE, VECTOR, VECTOR + "        print('vector', vector.shape)\n")], ()),
}

WRONG = {
    "cuda_hard_coded": ([(AE, "        result = decode(encode(images) + strength * vector.unsqueeze(0))\n",
                          "        result = decode(encode(images) + strength * vector.unsqueeze(0).cuda())\n")],
                        (hidden.compose,), {hidden.compose.name: "without a GPU"}),
}


test_correct_variation_loses_only_the_convention_it_breaks, test_common_mistake_loses_its_tests_with_a_hint = \
    variation_tests("hw2", CORRECT, WRONG, hidden.UNIT_TESTS)
