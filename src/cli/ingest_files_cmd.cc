// `millpond ingest files DIR --table DB.T [--recursive] [--pattern GLOB]` and `millpond gc`:
// folders into a files table whose blobs live in the blob store, and the blob garbage
// collector fed with what every table references. Also lets every command read store-backed
// BLOB columns (scan resolves them by blob id).
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <iostream>
#include <memory>
#include <thread>

#include "blob_relink.h"
#include "command.h"
#include "stop_signals.h"
#include "millpond/blob/blob_table.h"
#include "millpond/blob/gc.h"
#include "millpond/blob/ingest_files.h"
#include "millpond/blob/tiers.h"
#include "millpond/table/catalog.h"

namespace millpond::cli {
namespace {

std::string HumanBytes(int64_t n) {
  const char* units[] = {"B", "KB", "MB", "GB", "TB"};
  double v = static_cast<double>(n);
  int u = 0;
  while (v >= 1000 && u < 4) {
    v /= 1000;
    ++u;
  }
  char buf[32];
  std::snprintf(buf, sizeof(buf), u == 0 ? "%.0f %s" : "%.1f %s", v, units[u]);
  return buf;
}

// A one-line bar on stderr, only when stderr is a terminal.
class Bar {
 public:
  Bar() : tty_(isatty(STDERR_FILENO)) {}
  void Update(const blob::IngestProgress& p) {
    if (!tty_) return;
    auto now = std::chrono::steady_clock::now();
    if (p.files_done != p.files_total && now - last_ < std::chrono::milliseconds(100)) return;
    last_ = now;
    constexpr int kWidth = 30;
    double frac = p.bytes_total > 0 ? static_cast<double>(p.bytes_done) / p.bytes_total
                  : p.files_total > 0 ? static_cast<double>(p.files_done) / p.files_total
                                      : 1.0;
    int fill = static_cast<int>(frac * kWidth);
    std::string bar(fill, '#');
    bar.resize(kWidth, ' ');
    std::fprintf(stderr, "\r\033[Kingest [%s] %lld/%lld files, %s/%s", bar.c_str(),
                 static_cast<long long>(p.files_done), static_cast<long long>(p.files_total),
                 HumanBytes(p.bytes_done).c_str(), HumanBytes(p.bytes_total).c_str());
    shown_ = true;
  }
  void Clear() {
    if (tty_ && shown_) std::fprintf(stderr, "\r\033[K");
    shown_ = false;
  }

 private:
  bool tty_;
  bool shown_ = false;
  std::chrono::steady_clock::time_point last_{};
};

struct IngestFilesArgs {
  std::string dir, table, pattern;
  bool recursive = false;
  bool watch = false;
  std::string interval = "2s", until_idle;
};

// One pass over the folder. `changed`: whether it added a row or met a bad file; passes that did
// neither print nothing when `quiet_if_nothing`.
Status IngestOnce(const std::string& warehouse, const IngestFilesArgs& a, bool quiet_if_nothing,
                  bool* changed) {
  Bar bar;
  blob::IngestFilesOptions o;
  o.dir = a.dir;
  o.table = a.table;
  o.recursive = a.recursive;
  o.pattern = a.pattern;
  o.progress = [&](const blob::IngestProgress& p) { bar.Update(p); };
  o.problem = [&](const std::string& what) {
    bar.Clear();
    std::fprintf(stderr, "millpond: skipped %s\n", what.c_str());
  };
  auto r = blob::IngestFiles(warehouse, o);
  bar.Clear();
  ARROW_RETURN_NOT_OK(r.status());
  *changed = r->added > 0 || r->new_versions > 0 || r->failed > 0;
  if (quiet_if_nothing && !*changed) return Status::OK();
  std::cout << "ingested " << r->files_seen << " files into " << a.table << ": " << r->added
            << " new, " << r->new_versions << " new versions, " << r->unchanged << " unchanged"
            << (r->failed ? ", " + std::to_string(r->failed) + " skipped" : "") << " ("
            << HumanBytes(r->bytes_added) << " added)";
  if (!r->snapshots.empty()) std::cout << "; snapshot " << r->snapshots.back();
  std::cout << "\n" << std::flush;
  if (r->failed > 0) {
    return Status::IOError(r->failed, " file", r->failed == 1 ? "" : "s",
                           " could not be ingested (named above); the rest was committed");
  }
  return Status::OK();
}

// One pass, or with --watch a pass every interval until SIGINT/SIGTERM or --until-idle: each pass
// adds only new and changed files, so the folder's table follows the folder. A pass that fails
// (files named on stderr) does not end the watch.
Status RunIngestFiles(const std::string& warehouse, const IngestFilesArgs& a) {
  bool changed = false;
  if (!a.watch) return IngestOnce(warehouse, a, /*quiet_if_nothing=*/false, &changed);
  ARROW_ASSIGN_OR_RAISE(int64_t interval, blob::ParseDuration(a.interval));
  int64_t idle_limit = -1;
  if (!a.until_idle.empty()) {
    ARROW_ASSIGN_OR_RAISE(idle_limit, blob::ParseDuration(a.until_idle));
  }
  StopSignals signals;
  auto last_change = std::chrono::steady_clock::now();
  bool first = true;
  while (!StopSignals::flag().load()) {
    auto before = std::chrono::steady_clock::now();
    Status st = IngestOnce(warehouse, a, /*quiet_if_nothing=*/!first, &changed);
    if (changed) last_change = std::chrono::steady_clock::now();
    if (!st.ok()) {
      if (!st.IsIOError()) return st;  // a bad table or folder: stop; unreadable files: go on
      std::fprintf(stderr, "millpond: %s\n", st.message().c_str());
    }
    first = false;
    if (idle_limit >= 0 && std::chrono::steady_clock::now() - last_change >=
                               std::chrono::milliseconds(idle_limit)) {
      break;
    }
    auto next = before + std::chrono::milliseconds(interval);
    while (!StopSignals::flag().load() && std::chrono::steady_clock::now() < next) {
      std::this_thread::sleep_for(std::chrono::milliseconds(50));
    }
  }
  return Status::OK();
}

struct GcArgs {
  std::string grace = "1d";
  bool dry_run = false;
};

Status RunGc(const std::string& warehouse, const GcArgs& a) {
  ARROW_ASSIGN_OR_RAISE(int64_t grace, blob::ParseDuration(a.grace));
  ARROW_ASSIGN_OR_RAISE(auto catalog, table::Catalog::Open(warehouse, /*create_if_missing=*/false));
  auto fs = catalog->file_system();
  const std::string root = catalog->root();
  blob::GcOptions o;
  o.grace_millis = grace;
  o.dry_run = a.dry_run;
  auto live = [&](const std::function<void(const blob::BlobId&)>& add) {
    return blob::CollectLiveBlobs(fs, root, add);
  };
  ARROW_ASSIGN_OR_RAISE(auto r, blob::CollectGarbage(fs, root, live, o));
  std::cout << (a.dry_run ? "would delete " : "deleted ") << r.blobs_deleted << " of " << r.blobs
            << " blobs (" << r.live_blobs << " live, " << r.dead_blobs
            << " unreferenced past the grace period";
  if (r.blobs_deferred > 0) std::cout << ", " << r.blobs_deferred << " deferred for writers";
  std::cout << ")";
  if (!a.dry_run) {
    std::cout << "; packs " << r.packs_deleted << " deleted, " << r.packs_rewritten
              << " rewritten; " << HumanBytes(r.pack_bytes_before) << " -> "
              << HumanBytes(r.pack_bytes_after);
  }
  std::cout << "\n";
  // Rewritten packs leave Paimon descriptors naming packs that are gone: point them anew.
  if (!a.dry_run && r.packs_rewritten > 0) return RelinkDescriptors(warehouse);
  return Status::OK();
}

void Register(CLI::App& app, const std::string& warehouse, std::vector<Command>* out) {
  CLI::App* ingest = IngestCommand(app);
  auto a = std::make_shared<IngestFilesArgs>();
  auto* files = ingest->add_subcommand(
      "files",
      "One row per file of a folder (path, version, size, content type, SHA-256, mtime,\n"
      "capture time from EXIF, image size, video duration/codec/frame rate, and the blob).\n"
      "The table is created if absent; blobs go to the warehouse's blob store once.\n"
      "Re-running adds only new and changed files (a change is a new version).\n"
      "Example: millpond ingest files ./camera --table plant.images --recursive "
      "--pattern '*.jpg'");
  files->add_option("DIR", a->dir, "Folder to ingest")->required();
  files->add_option("--table", a->table, "DB.TABLE")->required();
  files->add_flag("--recursive,-r", a->recursive, "Descend into subfolders");
  files->add_option("--pattern", a->pattern,
                    "Glob of files to take (with a '/': on the relative path, else the name)");
  auto* watch = files->add_flag(
      "--watch", a->watch,
      "Keep watching: ingest new and changed files every --interval until Ctrl-C/SIGTERM");
  files->add_option("--interval", a->interval, "With --watch: time between passes (2s, 500ms)")
      ->needs(watch);
  files->add_option("--until-idle", a->until_idle,
                    "With --watch: stop once no file was added or changed for this long")
      ->needs(watch);
  out->push_back({files, [a, &warehouse] { return RunIngestFiles(warehouse, *a); }});

  auto g = std::make_shared<GcArgs>();
  auto* gc = app.add_subcommand(
      "gc",
      "Delete blobs that no snapshot, tag, branch or consumer of any table references and\n"
      "that were not written within the grace period (which must exceed the longest time\n"
      "between a writer storing blobs and committing the rows that reference them).\n"
      "Example: millpond gc --grace 1d");
  gc->add_option("--grace", g->grace, "Keep blobs written this recently (e.g. 1d, 6h, 0s)");
  gc->add_flag("--dry-run", g->dry_run, "Report what would be deleted, change nothing");
  out->push_back({gc, [g, &warehouse] { return RunGc(warehouse, *g); }});
}

// Store-backed BLOB columns resolve by blob id in every command's scans.
const bool kReaderRegistered = (blob::RegisterTableBlobReader(), true);
const bool kRegistered = AddCommands(&Register);

}  // namespace
}  // namespace millpond::cli
