// Subcommands that live outside main.cc register themselves here, so each module's command file
// (blob, ingest, ...) adds its commands without touching main.cc.
#pragma once

#include <functional>
#include <string>
#include <vector>

#include <CLI/CLI.hpp>

#include "millpond/common/status.h"

namespace millpond::cli {

/// One parsed-or-not subcommand and what runs when the user named it.
struct Command {
  CLI::App* app;
  std::function<Status()> run;
};

/// Adds subcommands to `app` and appends them to `out`. `warehouse` is filled in by parsing, so a
/// runner reads it when it runs, never when it is registered.
using Registrar = void (*)(CLI::App& app, const std::string& warehouse, std::vector<Command>* out);

/// Call from a namespace-scope initializer: `static const bool kRegistered = AddCommands(&Fn);`.
bool AddCommands(Registrar registrar);

/// Every registrar added so far (main.cc calls each once).
const std::vector<Registrar>& CommandRegistrars();

/// The `ingest` parent command that every connector's subcommand hangs under, created by whichever
/// registrar asks first (registration order between files is not fixed).
CLI::App* IngestCommand(CLI::App& app);

}  // namespace millpond::cli
