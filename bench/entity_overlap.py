#!/usr/bin/env python3
"""Entity F1 as the DIET paper and HERMIT score NLU-Benchmark (lenient overlap).

A gold entity counts as found when a predicted entity of the same type shares
at least one whitespace token (compared by its word) with it; a predicted entity is wrong when no gold
entity of its type shares a token with it. Precision = found / (found + gold
not found), recall = found / (found + predictions wrong), as their evaluation
script counts (the F1 is the same either way round). Reads trainyard's
nlu_predictions.jsonl and prints the F1.

    bench/entity_overlap.py results/nlu_predictions.jsonl
"""
import json
import re
import sys


def token_sets(text, entities):
    # An entity is the set of its tokens' words, not of their places: HERMIT's
    # script compares words (a word that recurs in the text matches either place).
    tokens = [(m.start(), m.end(), m.group()) for m in re.finditer(r"\S+", text)]
    return [(e["entity"], {w for s, t, w in tokens if s < e["end"] and t > e["start"]}) for e in entities]


def overlap_f1(lines):
    found = missed = wrong = 0
    for line in lines:
        r = json.loads(line)
        gold = token_sets(r["text"], r.get("entities", []))
        pred = token_sets(r["text"], r.get("predicted_entities", []))
        for kind, tokens in gold:
            if any(kind == k and tokens & t for k, t in pred):
                found += 1
            else:
                missed += 1
        for kind, tokens in pred:
            if not any(kind == k and tokens & t for k, t in gold):
                wrong += 1
    if found == 0:
        return 0.0
    precision, recall = found / (found + missed), found / (found + wrong)
    return 2 * precision * recall / (precision + recall)


if __name__ == "__main__":
    with open(sys.argv[1], encoding="utf-8") as f:
        print("%.4f" % overlap_f1(f))
