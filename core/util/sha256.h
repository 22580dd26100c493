#pragma once

#include <cstdint>
#include <filesystem>
#include <string>
#include <string_view>

namespace trainyard::util {

// SHA-256 (FIPS 180-4). Incremental; not thread-safe per instance.
class Sha256 {
 public:
  Sha256();
  void Update(std::string_view data);
  // The digest as 64 lower-case hex characters. Ends the computation.
  std::string HexDigest();

 private:
  void Block(const unsigned char* p);
  uint32_t h_[8];
  unsigned char buffer_[64];
  size_t buffered_ = 0;
  uint64_t length_ = 0;  // bytes
};

std::string Sha256Hex(std::string_view data);
// Hash of a file's content, read in chunks. Throws util::NotFoundError.
std::string Sha256File(const std::filesystem::path& path);

}  // namespace trainyard::util
