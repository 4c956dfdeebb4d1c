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

CLI::App* IngestCommand(CLI::App& app) {
  auto found = app.get_subcommands([](CLI::App* s) { return s->get_name() == "ingest"; });
  if (!found.empty()) return found.front();
  auto* ingest = app.add_subcommand(
      "ingest", "Ingest machine data and files into tables (mqtt, modbus, opcua, files).");
  ingest->require_subcommand(1);
  return ingest;
}

}  // namespace millpond::cli
