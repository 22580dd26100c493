#pragma once

// Entity tagging shared by DIETClassifier and TEDPolicy: the tag set of the
// entities (BILOU or plain), gold tags of a tokenized message, and decoded
// tags back to entity spans. No libtorch here.

#include <map>
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

// Token tags back to entity spans (BILOU or plain) as Rasa decodes them:
// BILOU chunks are made consistent first (a B- runs over I-s to its L-, with
// the chunk's most confident type), then an entity starts after O, at U-, or
// where the tag changes to anything but I-/L-; other tokens extend the entity
// before them.
std::vector<Span> TagsToSpans(const std::vector<std::string>& tags, const std::vector<float>& confidences,
                              bool bilou);

}  // namespace trainyard::ml
