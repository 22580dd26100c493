#!/usr/bin/python3
"""The two models a user could pick instead of DIET, on a Rasa NLU YAML train/test split:
fastText (supervised, word bigrams) and scikit-learn TF-IDF (word 1-2 + char_wb 1-4 n-grams)
with logistic regression. Prints one JSON line per peer: accuracy, train and predict seconds,
peak RSS (MB) of this process so far.

    nlu_peers.py TRAIN.yml TEST.yml
"""
import json
import os
import re
import resource
import subprocess
import sys
import tempfile
import time

import yaml

ANNOTATION = re.compile(r"\[([^\]]+)\](\([^)]*\)|\{[^}]*\})")


def examples(path):
    """(text, intent) pairs of a Rasa 3.x NLU YAML file, entity annotations removed."""
    with open(path, encoding="utf-8") as f:
        doc = yaml.safe_load(f)
    out = []
    for block in doc.get("nlu", []) or []:
        if "intent" not in block:
            continue
        raw = block.get("examples", "")
        items = raw.splitlines() if isinstance(raw, str) else [e.get("text", "") for e in raw]
        for line in items:
            line = line.strip()
            if line.startswith("- "):
                line = line[2:]
            if line:
                out.append((ANNOTATION.sub(r"\1", line), block["intent"]))
    return out


def rss_mb():
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def run_fasttext(train, test, work):
    def write(rows, name):
        p = os.path.join(work, name)
        with open(p, "w", encoding="utf-8") as f:
            for text, intent in rows:
                f.write("__label__%s %s\n" % (intent, " ".join(text.lower().split())))
        return p

    train_file, test_file = write(train, "train.txt"), write(test, "test.txt")
    model = os.path.join(work, "ft")
    start = time.time()
    run = subprocess.run(["/usr/bin/time", "-f", "%M", "fasttext", "supervised", "-input", train_file, "-output",
                          model, "-epoch", "50", "-lr", "0.5", "-wordNgrams", "2", "-dim", "100", "-thread", "2",
                          "-verbose", "0"], capture_output=True, text=True, check=True)
    train_s = time.time() - start
    peak = int(run.stderr.strip().splitlines()[-1]) / 1024
    start = time.time()
    pred = subprocess.run(["fasttext", "predict", model + ".bin", test_file], capture_output=True, text=True,
                          check=True).stdout.split()
    predict_s = time.time() - start
    correct = sum(1 for p, (_, gold) in zip(pred, test) if p == "__label__" + gold)
    return {"peer": "fastText", "accuracy": correct / len(test), "train_s": train_s, "predict_s": predict_s,
            "rss_mb": peak}


def run_sklearn(train, test):
    from sklearn.feature_extraction.text import TfidfVectorizer
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import make_pipeline, make_union

    start = time.time()
    model = make_pipeline(
        make_union(TfidfVectorizer(analyzer="word", ngram_range=(1, 2), sublinear_tf=True),
                   TfidfVectorizer(analyzer="char_wb", ngram_range=(1, 4), sublinear_tf=True)),
        LogisticRegression(C=10, max_iter=2000))
    model.fit([t for t, _ in train], [i for _, i in train])
    train_s = time.time() - start
    start = time.time()
    pred = model.predict([t for t, _ in test])
    predict_s = time.time() - start
    correct = sum(1 for p, (_, gold) in zip(pred, test) if p == gold)
    return {"peer": "sklearn", "accuracy": correct / len(test), "train_s": train_s, "predict_s": predict_s,
            "rss_mb": rss_mb()}


def main():
    train, test = examples(sys.argv[1]), examples(sys.argv[2])
    with tempfile.TemporaryDirectory() as work:
        print(json.dumps(run_fasttext(train, test, work)))
    print(json.dumps(run_sklearn(train, test)))


if __name__ == "__main__":
    main()
