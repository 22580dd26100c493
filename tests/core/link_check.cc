// A program that uses core's training entry points and nothing else. The
// test core_links_without_grpc (tests/CMakeLists.txt) runs it and then
// checks with ldd that no gRPC or protobuf library was linked into it.
// Run, it checks that core works on its own: loading a missing model fails
// with an error naming the file.

#include <iostream>
#include <string>

#include "core/training/model.h"
#include "core/training/train.h"
#include "core/util/errors.h"
#include "core/version.h"

int main(int argc, char**) {
  if (argc > 1) trainyard::training::Train({});  // never taken; keeps training linked in
  const std::string missing = "/nonexistent/trainyard-link-check/model.tar.gz";
  try {
    trainyard::training::Model::Load(missing);
  } catch (const trainyard::util::Error& e) {
    if (std::string(e.what()).find(missing) != std::string::npos) {
      std::cout << "trainyard core " << trainyard::Version() << ": ok\n";
      return 0;
    }
    std::cerr << "unexpected error: " << e.what() << "\n";
    return 1;
  }
  std::cerr << "loading a missing model did not fail\n";
  return 1;
}
