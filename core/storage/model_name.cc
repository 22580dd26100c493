#include "core/storage/model_name.h"

#include <ctime>
#include <random>

#include "core/util/strings.h"

namespace trainyard::storage {
namespace {

const char* const kAdjectives[] = {
    "amber",  "brisk",   "calm",    "clever", "crisp",  "dapper", "eager",  "fancy",  "gentle",
    "glossy", "hollow",  "humble",  "jolly",  "keen",   "lively", "lucid",  "mellow", "nimble",
    "noble",  "plucky",  "proud",   "quiet",  "rapid",  "rustic", "sharp",  "shiny",  "snappy",
    "steady", "sunny",   "swift",   "tidy",   "tender", "vivid",  "warm",   "wise",   "zesty"};
const char* const kNouns[] = {
    "anchor",  "badger",  "beacon",  "boulder", "canyon",  "cedar",   "comet",  "delta",   "ember",
    "falcon",  "fjord",   "geyser",  "glacier", "harbor",  "heron",   "island", "lagoon",  "lantern",
    "maple",   "meadow",  "meteor",  "orbit",   "otter",   "pebble",  "prairie", "quartz", "raven",
    "reef",    "signal",  "spruce",  "summit",  "thicket", "tundra",  "valley", "walrus",  "willow"};

}  // namespace

std::string RandomTimestampedName(std::chrono::system_clock::time_point now) {
  const std::time_t t = std::chrono::system_clock::to_time_t(now);
  std::tm local{};
  localtime_r(&t, &local);
  char stamp[32];
  std::strftime(stamp, sizeof stamp, "%Y%m%d-%H%M%S", &local);
  thread_local std::mt19937 rng{std::random_device{}()};
  std::uniform_int_distribution<size_t> adjective(0, std::size(kAdjectives) - 1);
  std::uniform_int_distribution<size_t> noun(0, std::size(kNouns) - 1);
  return std::string(stamp) + "-" + kAdjectives[adjective(rng)] + "-" + kNouns[noun(rng)];
}

std::string ModelFileName(int training_type, const std::optional<std::string>& fixed_name,
                          std::chrono::system_clock::time_point now) {
  if (fixed_name) return util::EndsWith(*fixed_name, ".tar.gz") ? *fixed_name : *fixed_name + ".tar.gz";
  const char* prefix = training_type == 1 ? "nlu-" : training_type == 2 ? "core-" : "";
  return prefix + RandomTimestampedName(now) + ".tar.gz";
}

}  // namespace trainyard::storage
