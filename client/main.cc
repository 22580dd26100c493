#include <signal.h>

#include <iostream>
#include <string>
#include <vector>

#include "client/cli.h"

int main(int argc, char** argv) {
  // Ctrl-C asks a running command to stop cleanly (between graph nodes).
  struct sigaction action {};
  action.sa_handler = [](int) { trainyard::client::InterruptToken().Cancel(); };
  sigaction(SIGINT, &action, nullptr);
  sigaction(SIGTERM, &action, nullptr);
  std::vector<std::string> args(argv + 1, argv + argc);
  return trainyard::client::RunCli(args, std::cout, std::cerr);
}
