"""Homework 2, part 2: a convolutional autoencoder for 64 x 64 emoji, its auxiliary classifier,
the losses, and arithmetic with latent codes.

Shapes used in the docstrings:
    N  batch size       Z  latent size (``latent_size``)       C  number of classes
    F  width: the number of feature maps of the first convolution (``width``)
    images are float tensors (N, 3, 64, 64) with values in [0, 1].

Fill in every region fenced by ``TODO`` banners; keep every signature as it is, because the
autograder calls these functions and classes by name.
"""
import torch
import torch.nn as nn
import torch.nn.functional as F

IMAGE_SIZE = 64


class ConvAutoencoder(nn.Module):
    def __init__(self, latent_size=32, width=32):
        """A DCGAN-style convolutional autoencoder.

        Inputs:
        - latent_size: Z, the size of the code of one image
        - width: F, the number of feature maps after the first convolution

        Attributes to build (each an ``nn.Module``):
        - self.encoder: (N, 3, 64, 64) -> (N, Z). Four convolutions with kernel 4, stride 2 and
          padding 1, each halving the image side (64 -> 32 -> 16 -> 8 -> 4) while the feature
          maps go 3 -> F -> 2F -> 4F -> 8F, each followed by a LeakyReLU(0.2); then Flatten and a
          Linear layer from 8F * 4 * 4 to Z (no activation: codes may be any real numbers). No
          batch normalisation in the encoder: that way the code of an image does not depend on
          the other images of its batch, and training and evaluation give the same codes.
        - self.decoder: (N, Z) -> (N, 3, 64, 64), the mirror image: a Linear layer from Z to
          8F * 4 * 4, Unflatten to (8F, 4, 4), BatchNorm2d and ReLU; then four transposed
          convolutions (kernel 4, stride 2, padding 1) doubling the side (4 -> 8 -> 16 -> 32 -> 64)
          while the feature maps go 8F -> 4F -> 2F -> F -> 3, the first three followed by
          BatchNorm2d and ReLU, the last by a Sigmoid so that pixels lie in [0, 1].
        """
        super().__init__()
        self.latent_size = latent_size  # Z
        self.width = width  # F
        self.encoder = None
        self.decoder = None
        # ============================== TODO ==============================
        # Build self.encoder and self.decoder as described above
        # (nn.Sequential is the easiest way).
        # ==================================================================
        ### BEGIN SOLUTION
        f, z = width, latent_size
        self.encoder = nn.Sequential(
            nn.Conv2d(3, f, 4, 2, 1), nn.LeakyReLU(0.2),
            nn.Conv2d(f, 2 * f, 4, 2, 1), nn.LeakyReLU(0.2),
            nn.Conv2d(2 * f, 4 * f, 4, 2, 1), nn.LeakyReLU(0.2),
            nn.Conv2d(4 * f, 8 * f, 4, 2, 1), nn.LeakyReLU(0.2),
            nn.Flatten(), nn.Linear(8 * f * 4 * 4, z),
        )
        self.decoder = nn.Sequential(
            nn.Linear(z, 8 * f * 4 * 4), nn.Unflatten(1, (8 * f, 4, 4)), nn.BatchNorm2d(8 * f), nn.ReLU(),
            nn.ConvTranspose2d(8 * f, 4 * f, 4, 2, 1), nn.BatchNorm2d(4 * f), nn.ReLU(),
            nn.ConvTranspose2d(4 * f, 2 * f, 4, 2, 1), nn.BatchNorm2d(2 * f), nn.ReLU(),
            nn.ConvTranspose2d(2 * f, f, 4, 2, 1), nn.BatchNorm2d(f), nn.ReLU(),
            nn.ConvTranspose2d(f, 3, 4, 2, 1), nn.Sigmoid(),
        )
        ### END SOLUTION
        # ========================== END OF TODO ===========================

    def encode(self, x):
        """Given: (N, 3, 64, 64) images -> (N, Z) codes."""
        return self.encoder(x)

    def decode(self, z):
        """Given: (N, Z) codes -> (N, 3, 64, 64) images in [0, 1]."""
        return self.decoder(z)

    def forward(self, x):
        """Given: the reconstruction (N, 3, 64, 64) of images x (N, 3, 64, 64)."""
        return self.decode(self.encode(x))


class AuxAutoencoder(ConvAutoencoder):
    def __init__(self, latent_size=32, num_classes=3, width=32):
        """The same autoencoder with an auxiliary classification head on the code.

        Inputs:
        - latent_size: Z;  num_classes: C;  width: F (as in ``ConvAutoencoder``)

        Attribute to build (besides the encoder and decoder that ``ConvAutoencoder`` builds):
        - self.classifier: (N, Z) -> (N, C) logits (scores before a softmax): a Linear layer
          from Z to 64, a ReLU, and a Linear layer from 64 to C.
        """
        super().__init__(latent_size, width)
        self.num_classes = num_classes  # C
        self.classifier = None
        # ============================== TODO ==============================
        # Build self.classifier.
        # ==================================================================
        ### BEGIN SOLUTION
        self.classifier = nn.Sequential(nn.Linear(latent_size, 64), nn.ReLU(), nn.Linear(64, num_classes))
        ### END SOLUTION
        # ========================== END OF TODO ===========================

    def forward(self, x):
        """Encode once; decode the code and classify the same code.

        Inputs:
        - x: (N, 3, 64, 64) images

        Returns a tuple ``(x_hat, logits)``:
        - x_hat: (N, 3, 64, 64) reconstruction in [0, 1]
        - logits: (N, C) class scores
        """
        x_hat, logits = None, None
        # ============================== TODO ==============================
        # Two or three lines.
        # ==================================================================
        ### BEGIN SOLUTION
        z = self.encode(x)
        x_hat, logits = self.decode(z), self.classifier(z)
        ### END SOLUTION
        # ========================== END OF TODO ===========================
        return x_hat, logits


def reconstruction_loss(x_hat, x):
    """The mean squared error, averaged over every pixel, channel and image.

    Inputs:
    - x_hat: (N, 3, H, W) reconstructions
    - x: (N, 3, H, W) target images

    Returns:
    - a scalar tensor (0-dimensional)
    """
    loss = None
    # ============================== TODO ==============================
    # One line.
    # ==================================================================
    ### BEGIN SOLUTION
    loss = F.mse_loss(x_hat, x, reduction="mean")
    ### END SOLUTION
    # ========================== END OF TODO ===========================
    return loss


def aux_loss(x_hat, x, logits, labels, lam):
    """Reconstruction plus weighted classification:
    ``reconstruction_loss(x_hat, x) + lam * cross-entropy(logits, labels)``, the cross-entropy
    averaged over the batch.

    Inputs:
    - x_hat: (N, 3, H, W) reconstructions;  x: (N, 3, H, W) targets
    - logits: (N, C) class scores;  labels: int64 (N,) classes in [0, C)
    - lam: float, the weight of the classification term

    Returns:
    - a scalar tensor (0-dimensional)
    """
    loss = None
    # ============================== TODO ==============================
    # Reuse reconstruction_loss; torch.nn.functional has the cross-entropy.
    # ==================================================================
    ### BEGIN SOLUTION
    loss = reconstruction_loss(x_hat, x) + lam * F.cross_entropy(logits, labels)
    ### END SOLUTION
    # ========================== END OF TODO ===========================
    return loss


def attribute_vector(encode, with_images, without_images):
    """The direction in code space from images without an attribute to images with it:
    the mean code of ``with_images`` minus the mean code of ``without_images``.

    Inputs:
    - encode: a function from images (M, 3, H, W) to codes (M, Z), e.g. ``model.encode``
    - with_images: (A, 3, H, W) images that have the attribute (A >= 1)
    - without_images: (B, 3, H, W) images that do not (B >= 1)

    Returns:
    - float tensor (Z,), without gradients
    """
    vector = None
    # ============================== TODO ==============================
    # Encode both groups and subtract their mean codes (under
    # torch.no_grad()).
    # ==================================================================
    ### BEGIN SOLUTION
    with torch.no_grad():
        vector = encode(with_images).mean(dim=0) - encode(without_images).mean(dim=0)
    ### END SOLUTION
    # ========================== END OF TODO ===========================
    return vector


def compose(encode, decode, images, vector, strength=1.0):
    """Add an attribute to images: decode(encode(images) + strength * vector).

    Inputs:
    - encode: images (N, 3, H, W) -> codes (N, Z);  decode: codes (N, Z) -> images (N, 3, H, W)
    - images: (N, 3, H, W) images to change
    - vector: (Z,) attribute vector from ``attribute_vector``
    - strength: float, how much of the vector to add (0 gives plain reconstructions)

    Returns:
    - float tensor (N, 3, H, W), the decoded images, without gradients
    """
    result = None
    # ============================== TODO ==============================
    # Encode, add the scaled vector to every code, decode (under
    # torch.no_grad()).
    # ==================================================================
    ### BEGIN SOLUTION
    with torch.no_grad():
        result = decode(encode(images) + strength * vector.unsqueeze(0))
    ### END SOLUTION
    # ========================== END OF TODO ===========================
    return result
