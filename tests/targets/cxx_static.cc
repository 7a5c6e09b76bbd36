// A C++ target with static initialisation that leaves a trace: a global object's constructor appends
// a line to $COUNTER (when set). It exits with the number its input holds.
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <iostream>
#include <string>

struct Registry {
  Registry() {
    if (const char *counter = std::getenv("COUNTER")) std::ofstream(counter, std::ios::app) << "static init\n";
  }
};
static Registry registry;

int main() {
  std::string line;
  std::getline(std::cin, line);
  return std::atoi(line.c_str());
}
