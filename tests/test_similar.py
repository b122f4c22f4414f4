"""The similarity report on a made-up hw4 class: a copy, a copy with renamed identifiers and
reordered functions, two independent correct solutions and the untouched stencil."""
from __future__ import annotations

import ast
import csv
import re
import shutil
import zipfile
from pathlib import Path

import pytest

from autograder import similar
from autograder.homeworks import load_spec

pytest.importorskip("copydetect")

SPEC = load_spec("hw4")
FILES = SPEC.source_files

# A second, independently written solution: the same maths in another student's own words.
INDEPENDENT = {
    "VAE.__init__": """\
        self.hidden_dim = 400
        width = self.hidden_dim
        self.encoder = nn.Sequential(nn.Flatten(start_dim=1), nn.Linear(input_size, width), nn.ReLU(),
                                     nn.Linear(width, width), nn.ReLU(), nn.Linear(width, width), nn.ReLU())
        self.mu_layer, self.logvar_layer = nn.Linear(width, latent_size), nn.Linear(width, latent_size)
        layers = [nn.Linear(latent_size, width), nn.ReLU()]
        for _ in range(2):
            layers += [nn.Linear(width, width), nn.ReLU()]
        layers += [nn.Linear(width, input_size), nn.Sigmoid(), nn.Unflatten(1, (1, 28, 28))]
        self.decoder = nn.Sequential(*layers)""",
    "VAE.forward": """\
        features = self.encoder(x)
        mu = self.mu_layer(features)
        logvar = self.logvar_layer(features)
        sample = reparametrize(mu, logvar)
        x_hat = self.decoder(sample)""",
    "CVAE.__init__": """\
        self.hidden_dim = 400
        blocks = []
        size = input_size + num_classes
        for _ in range(3):
            blocks.append(nn.Linear(size, 400))
            blocks.append(nn.ReLU())
            size = 400
        self.encoder = nn.Sequential(*blocks)
        self.mu_layer = nn.Linear(400, latent_size)
        self.logvar_layer = nn.Linear(400, latent_size)
        dec = [nn.Linear(latent_size + num_classes, 400), nn.ReLU(), nn.Linear(400, 400), nn.ReLU()]
        dec += [nn.Linear(400, 400), nn.ReLU(), nn.Linear(400, input_size), nn.Sigmoid()]
        self.decoder = nn.Sequential(*dec, nn.Unflatten(1, (1, 28, 28)))""",
    "CVAE.forward": """\
        flat = x.reshape(x.size(0), -1)
        h = self.encoder(torch.cat((flat, c), 1))
        mu, logvar = self.mu_layer(h), self.logvar_layer(h)
        code = torch.cat((reparametrize(mu, logvar), c), 1)
        x_hat = self.decoder(code)""",
    "reparametrize": """\
    std = (logvar / 2).exp()
    noise = torch.randn_like(std)
    z = noise.mul(std).add(mu)""",
    "bce_function": """\
    loss = -(x * torch.log(x_hat.clamp_min(1e-12)) + (1 - x) * torch.log((1 - x_hat).clamp_min(1e-12))).sum()""",
    "loss_function": """\
    batch = x.size(0)
    kl_term = 0.5 * (mu ** 2 + torch.exp(logvar) - logvar - 1).sum()
    loss = bce_function(x_hat, x).add(kl_term).div(batch)""",
    "one_hot": """\
    targets = (labels.view(-1, 1) == torch.arange(class_size, device=labels.device).view(1, -1)).float()""",
    "train_vae": """\
        condition = one_hot(y, NUM_CLASSES) if is_cvae else None
        outputs = model(x, condition) if is_cvae else model(x)
        batch_loss = loss_function(outputs[0], x, outputs[1], outputs[2])
        for p in model.parameters():
            p.grad = None
        batch_loss.backward()
        optimizer.step()
        total_loss = total_loss + float(batch_loss.detach())""",
}


def _independent(name: str) -> str:
    text = (SPEC.student_folder / name).read_text()

    def body(match):
        return INDEPENDENT[match.group(2)]
    return re.sub(r'^( *)raise NotImplementedError\("TODO: fill in ([\w.]+) \([\w.]+\)"\)$', body, text,
                  flags=re.M)


RENAMES = {"hidden": "feats", "H": "width", "D": "n_in", "Z": "n_z", "C": "n_cls", "kl": "divergence",
           "loss": "objective", "targets": "encoded", "total_loss": "running", "x_hat": "recon",
           "mu": "centre", "logvar": "log_sigma2", "z": "draw"}


def _renamed_and_reordered(text: str) -> str:
    """Rename local identifiers and reverse the order of the module's top-level functions/classes."""
    for old, new in RENAMES.items():
        text = re.sub(rf"\b{old}\b", new, text)
    tree = ast.parse(text)
    lines = text.splitlines(keepends=True)
    blocks = [node for node in tree.body if isinstance(node, (ast.FunctionDef, ast.ClassDef))]
    head = "".join(lines[:blocks[0].lineno - 1 - len(blocks[0].decorator_list)])
    pieces = ["".join(lines[b.lineno - 1 - len(b.decorator_list):b.end_lineno]) for b in blocks]
    tail = "".join(lines[blocks[-1].end_lineno:])
    return head + "\n\n".join(reversed(pieces)) + "\n" + tail


@pytest.fixture(scope="module")
def klass(tmp_path_factory):
    root = tmp_path_factory.mktemp("hw4-class")
    folders = {name: root / name for name in ("alice", "bob", "carol", "dave", "erin")}
    for folder in folders.values():
        folder.mkdir()
    for name in FILES:
        solution = (SPEC.solution_dir / name).read_text()
        (folders["alice"] / name).write_text(solution)
        (folders["bob"] / name).write_text(solution)
        (folders["carol"] / name).write_text(_renamed_and_reordered(solution))
        (folders["dave"] / name).write_text(_independent(name))
        shutil.copy(SPEC.student_folder / name, folders["erin"] / name)
    # bob hands in a zip, like most students
    with zipfile.ZipFile(root / "bob.zip", "w") as zf:
        for name in FILES:
            zf.write(folders["bob"] / name, name)
    shutil.rmtree(folders["bob"])
    return root


@pytest.fixture(scope="module")
def report(klass, tmp_path_factory):
    out = tmp_path_factory.mktemp("similarity")
    pairs, skipped = similar.similar("hw4", klass, out)
    assert not skipped
    scores = {frozenset((p.a, p.b)): p.similarity for p in pairs}
    return out, pairs, scores


def test_fixtures_are_what_they_claim():
    for name in FILES:
        solution = (SPEC.solution_dir / name).read_text()
        changed = _renamed_and_reordered(solution)
        ast.parse(changed)
        ast.parse(_independent(name))
        assert changed != solution and "NotImplementedError(\"TODO" not in _independent(name)
    first = [n.name for n in ast.parse((SPEC.solution_dir / "vae.py").read_text()).body if hasattr(n, "name")]
    moved = [n.name for n in ast.parse(_renamed_and_reordered((SPEC.solution_dir / "vae.py").read_text())).body
             if hasattr(n, "name")]
    assert moved == list(reversed(first))


def test_copies_are_flagged_and_independent_work_is_not(report):
    _, pairs, scores = report
    print("\n".join(f"{p.a} {p.b} {p.similarity:.4f}" for p in pairs))
    assert scores[frozenset(("alice", "bob"))] >= 0.99                 # a copy
    assert scores[frozenset(("alice", "carol"))] >= similar.FLAG       # renamed and reordered
    assert scores[frozenset(("bob", "carol"))] >= similar.FLAG
    assert scores[frozenset(("alice", "dave"))] < similar.FLAG         # written independently
    assert scores[frozenset(("carol", "dave"))] < similar.FLAG
    for other in ("alice", "bob", "carol", "dave"):                    # the untouched stencil
        assert scores[frozenset(("erin", other))] == 0.0


def test_pairs_csv_and_pages(report):
    out, pairs, _ = report
    with open(out / "pairs.csv") as handle:
        rows = list(csv.DictReader(handle))
    assert list(rows[0]) == ["student_a", "student_b", "similarity"]
    values = [float(r["similarity"]) for r in rows]
    assert values == sorted(values, reverse=True) and all(0.0 <= v <= 1.0 for v in values)
    assert len(rows) == 10 and {rows[0]["student_a"], rows[0]["student_b"]} == {"alice", "bob"}
    index = (out / "index.html").read_text()
    assert "alice" in index and "pairs/alice--bob.html" in index
    view = (out / "pairs" / "alice--carol.html").read_text()
    assert view.count("<mark>") >= 3 and "recon" in view and "x_hat" in view


def test_cli(klass, tmp_path, capsys):
    from autograder.cli import main

    assert main(["similar", "hw4", str(klass), "--out", str(tmp_path / "sim")]) == 0
    assert (tmp_path / "sim" / "pairs.csv").is_file()
    assert "look at this pair" in capsys.readouterr().out
