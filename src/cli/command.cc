#include "command.h"

namespace millpond::cli {

namespace {
std::vector<Registrar>& Registry() {
  static std::vector<Registrar> registrars;
  return registrars;
}
}  // namespace

bool AddCommands(Registrar registrar) {
  Registry().push_back(registrar);
  return true;
}

const std::vector<Registrar>& CommandRegistrars() { return Registry(); }

}  // namespace millpond::cli
