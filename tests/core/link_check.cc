// Uses every core library so that linking it proves core needs no gRPC
// (see tests/CMakeLists.txt, core_links_without_grpc).

#include <iostream>

#include "core/training/model.h"
#include "core/training/train.h"
#include "core/version.h"

int main(int argc, char**) {
  if (argc > 1) {  // never taken in the test; keeps the calls linked in
    trainyard::training::Train({});
    trainyard::training::Model::Load("x");
  }
  std::cout << "trainyard core " << trainyard::Version() << "\n";
  return 0;
}
