// `millpond blob put|get|stat|stats|verify|gc` and `millpond tier apply`: the blob store from the
// command line (docs/format/blob-pack.md). Every failure is one "millpond: error:" line.
#include <cstdio>
#include <ctime>
#include <fstream>
#include <iomanip>
#include <iostream>
#include <iterator>
#include <memory>
#include <sstream>

#include <nlohmann/json.hpp>

#include "blob_relink.h"
#include "command.h"
#include "millpond/blob/blob_store.h"
#include "millpond/blob/gc.h"
#include "millpond/blob/inspect.h"
#include "millpond/blob/tiers.h"

namespace millpond::cli {
namespace {

using blob::BlobId;

struct BlobArgs {
  std::vector<std::string> files;
  std::string id, range, output, live_file, grace = "1d", policy, format = "text";
  bool quick = false, dry_run = false;
};

Result<std::pair<std::shared_ptr<fs::FileSystem>, std::string>> OpenWarehouse(
    const std::string& warehouse) {
  std::string root;
  MP_ASSIGN_OR_RAISE(auto fs, fs::FileSystem::Make(warehouse, &root));
  return std::make_pair(fs, root);
}

Result<std::unique_ptr<blob::BlobStore>> OpenStore(const std::string& warehouse) {
  MP_ASSIGN_OR_RAISE(auto w, OpenWarehouse(warehouse));
  return blob::BlobStore::Open(w.first, w.second);
}

std::string Bytes(int64_t n) {
  static const char* kUnits[] = {"B", "KiB", "MiB", "GiB", "TiB"};
  double v = static_cast<double>(n);
  int u = 0;
  while (v >= 1024 && u < 4) {
    v /= 1024;
    ++u;
  }
  std::ostringstream s;
  s << std::fixed << std::setprecision(u == 0 ? 0 : 2) << v << " " << kUnits[u];
  return s.str();
}

std::string Ratio(int64_t a, int64_t b) {
  if (b <= 0) return "-";
  std::ostringstream s;
  s << std::fixed << std::setprecision(2) << static_cast<double>(a) / static_cast<double>(b);
  return s.str();
}

std::string Time(int64_t millis) {
  std::time_t t = static_cast<std::time_t>(millis / 1000);
  std::tm tm{};
  gmtime_r(&t, &tm);
  char buf[64];
  std::strftime(buf, sizeof(buf), "%Y-%m-%dT%H:%M:%SZ", &tm);
  return buf;
}

Status Put(const std::string& warehouse, const BlobArgs& a) {
  MP_ASSIGN_OR_RAISE(auto store, OpenStore(warehouse));
  std::vector<std::pair<BlobId, std::string>> done;
  for (const auto& f : a.files) {
    Result<BlobId> id;
    if (f == "-") {
      std::string bytes((std::istreambuf_iterator<char>(std::cin)), std::istreambuf_iterator<char>());
      id = store->Put(bytes);
    } else {
      id = store->PutFile(f);
    }
    if (!id.ok()) return Status::IOError("blob put ", f, ": ", id.status().message());
    done.emplace_back(*id, f);
  }
  MP_RETURN_NOT_OK(store->Flush());
  for (const auto& [id, f] : done) std::cout << id.ToString() << "  " << f << "\n";
  return Status::OK();
}

Result<std::pair<int64_t, int64_t>> ParseRange(const std::string& text) {
  auto dash = text.find('-');
  auto bad = [&] {
    return Status::Invalid("--range expects A-B (bytes A to B inclusive) or A- (to the end), got '",
                           text, "'");
  };
  if (dash == std::string::npos || dash == 0) return bad();
  std::string a = text.substr(0, dash), b = text.substr(dash + 1);
  auto digits = [](const std::string& s) {
    return !s.empty() && s.size() < 19 && s.find_first_not_of("0123456789") == std::string::npos;
  };
  if (!digits(a) || (!b.empty() && !digits(b))) return bad();
  int64_t from = std::stoll(a);
  if (b.empty()) return std::make_pair(from, int64_t{-1});
  int64_t to = std::stoll(b);
  if (to < from) return Status::Invalid("--range ", text, ": end before start");
  return std::make_pair(from, to - from + 1);
}

Status Get(const std::string& warehouse, const BlobArgs& a) {
  MP_ASSIGN_OR_RAISE(BlobId id, BlobId::Parse(a.id));
  int64_t offset = 0, length = -1;
  if (!a.range.empty()) {
    MP_ASSIGN_OR_RAISE(auto r, ParseRange(a.range));
    offset = r.first;
    length = r.second;
  }
  MP_ASSIGN_OR_RAISE(auto store, OpenStore(warehouse));
  MP_ASSIGN_OR_RAISE(auto buf, store->Get(id, offset, length));
  if (a.output.empty() || a.output == "-") {
    if (std::fwrite(buf->data(), 1, static_cast<size_t>(buf->size()), stdout) !=
            static_cast<size_t>(buf->size()) ||
        std::fflush(stdout) != 0) {
      return Status::IOError("cannot write to stdout");
    }
    return Status::OK();
  }
  std::ofstream out(a.output, std::ios::binary | std::ios::trunc);
  out.write(reinterpret_cast<const char*>(buf->data()), buf->size());
  out.close();
  if (!out) return Status::IOError("cannot write ", a.output);
  return Status::OK();
}

Status Stat(const std::string& warehouse, const BlobArgs& a) {
  MP_ASSIGN_OR_RAISE(BlobId id, BlobId::Parse(a.id));
  MP_ASSIGN_OR_RAISE(auto store, OpenStore(warehouse));
  MP_ASSIGN_OR_RAISE(auto st, store->Stat(id));
  std::cout << "id:            " << st.id.ToString() << "\n"
            << "size:          " << st.size << "\n"
            << "content class: " << st.content_class << "\n"
            << "chunks:        " << st.chunks << "\n"
            << "stored bytes:  " << st.stored_bytes << "\n"
            << "referenced:    " << Time(st.ref_time) << "\n";
  for (const auto& p : st.packs) std::cout << "pack:          " << p << "\n";
  return Status::OK();
}

Status Stats(const std::string& warehouse, const BlobArgs& a) {
  MP_ASSIGN_OR_RAISE(auto w, OpenWarehouse(warehouse));
  MP_ASSIGN_OR_RAISE(auto s, blob::ComputeStats(w.first, w.second));
  if (a.format == "json") {
    nlohmann::json j = {{"blobs", s.blobs},           {"puts", s.puts},
                        {"logical_bytes", s.logical_bytes}, {"blob_bytes", s.blob_bytes},
                        {"chunks", s.chunks},         {"chunk_bytes", s.chunk_bytes},
                        {"stored_bytes", s.stored_bytes}, {"packs", s.packs},
                        {"pack_bytes", s.pack_bytes}};
    for (const auto& [t, v] : s.tiers) j["tiers"][t] = {{"packs", v.first}, {"bytes", v.second}};
    j["classes"] = nlohmann::json::object();
    for (const auto& [c, v] : s.classes) {
      j["classes"][c] = {{"chunks", v.chunks}, {"raw_bytes", v.raw_bytes},
                         {"stored_bytes", v.stored_bytes}};
    }
    std::cout << j.dump(2) << "\n";
    return Status::OK();
  }
  std::cout << "blobs:           " << s.blobs << " (" << s.puts << " puts)\n"
            << "logical bytes:   " << Bytes(s.logical_bytes) << " (everything put)\n"
            << "distinct blobs:  " << Bytes(s.blob_bytes) << "\n"
            << "distinct chunks: " << s.chunks << ", " << Bytes(s.chunk_bytes) << "\n"
            << "stored:          " << Bytes(s.stored_bytes) << " (after compression)\n"
            << "pack files:      " << s.packs << ", " << Bytes(s.pack_bytes);
  for (const auto& [t, v] : s.tiers) std::cout << "; " << t << " " << v.first;
  std::cout << "\n"
            << "dedup ratio:     " << Ratio(s.logical_bytes, s.chunk_bytes)
            << " (logical / distinct chunks)\n"
            << "compression:     " << Ratio(s.chunk_bytes, s.stored_bytes)
            << " (distinct chunks / stored)\n"
            << "overall:         " << Ratio(s.logical_bytes, s.pack_bytes)
            << " (logical / pack files)\n\n";
  std::cout << std::left << std::setw(11) << "class" << std::right << std::setw(9) << "chunks"
            << std::setw(14) << "raw" << std::setw(14) << "stored" << std::setw(8) << "ratio"
            << "\n";
  for (const auto& [c, v] : s.classes) {
    std::cout << std::left << std::setw(11) << c << std::right << std::setw(9) << v.chunks
              << std::setw(14) << Bytes(v.raw_bytes) << std::setw(14) << Bytes(v.stored_bytes)
              << std::setw(8) << Ratio(v.raw_bytes, v.stored_bytes) << "\n";
  }
  return Status::OK();
}

Status Verify(const std::string& warehouse, const BlobArgs& a) {
  MP_ASSIGN_OR_RAISE(auto w, OpenWarehouse(warehouse));
  blob::VerifyOptions o;
  o.checksums_only = a.quick;
  MP_ASSIGN_OR_RAISE(auto r, blob::VerifyStore(w.first, w.second, o));
  for (const auto& p : r.problems) std::cout << "CORRUPT: " << p << "\n";
  for (const auto& n : r.notes) std::cout << "note: " << n << "\n";
  std::cout << "checked " << r.segments << " index segments, " << r.packs << " packs ("
            << Bytes(r.bytes) << "), " << r.chunks << " chunks, " << r.blobs << " blobs: "
            << (r.ok() ? "ok" : std::to_string(r.problems.size()) + " problems") << "\n";
  std::cout.flush();
  if (!r.ok()) {
    return Status::IOError("blob verify found ", r.problems.size(),
                           " problems (first: ", r.problems.front(), ")");
  }
  return Status::OK();
}

Status Gc(const std::string& warehouse, const BlobArgs& a) {
  MP_ASSIGN_OR_RAISE(int64_t grace, blob::ParseDuration(a.grace));
  std::ifstream in(a.live_file);
  if (!in) return Status::IOError("cannot read --live-file ", a.live_file);
  std::vector<BlobId> live;
  std::string line;
  int n = 0;
  while (std::getline(in, line)) {
    ++n;
    auto hash = line.find('#');
    if (hash != std::string::npos) line = line.substr(0, hash);
    while (!line.empty() && std::isspace(static_cast<unsigned char>(line.back()))) line.pop_back();
    size_t start = line.find_first_not_of(" \t");
    if (start == std::string::npos) continue;
    auto id = BlobId::Parse(line.substr(start));
    if (!id.ok()) return Status::Invalid(a.live_file, " line ", n, ": ", id.status().message());
    live.push_back(*id);
  }
  MP_ASSIGN_OR_RAISE(auto w, OpenWarehouse(warehouse));
  blob::GcOptions o;
  o.grace_millis = grace;
  o.dry_run = a.dry_run;
  MP_ASSIGN_OR_RAISE(auto r, blob::CollectGarbage(
                                 w.first, w.second,
                                 [&](const std::function<void(const BlobId&)>& add) {
                                   for (const auto& id : live) add(id);
                                   return Status::OK();
                                 },
                                 o));
  std::cout << (a.dry_run ? "would delete " : "deleted ") << r.blobs_deleted << " of " << r.blobs
            << " blobs (" << r.live_blobs << " live, " << r.dead_blobs << " dead, "
            << r.blobs_deferred << " deferred), " << r.chunks_deleted << " chunks; packs: "
            << r.packs_deleted << " deleted, " << r.packs_rewritten << " rewritten, "
            << r.orphan_packs_deleted << " orphans; " << Bytes(r.pack_bytes_before) << " -> "
            << Bytes(a.dry_run ? r.pack_bytes_before : r.pack_bytes_after) << "\n";
  for (const auto& l : r.deferred_by) std::cout << "deferred by writer lease " << l << "\n";
  return Status::OK();
}

Status TierApply(const std::string& warehouse, const BlobArgs& a) {
  blob::TierPolicy policy = blob::TierPolicy::Default();
  if (!a.policy.empty()) {
    std::ifstream in(a.policy);
    if (!in) return Status::IOError("cannot read --policy ", a.policy);
    std::string text((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
    MP_ASSIGN_OR_RAISE(policy, blob::TierPolicy::Parse(text, a.policy));
  }
  MP_ASSIGN_OR_RAISE(auto w, OpenWarehouse(warehouse));
  blob::TierOptions o;
  o.dry_run = a.dry_run;
  MP_ASSIGN_OR_RAISE(auto r, blob::ApplyTierPolicy(w.first, w.second, policy, o));
  for (const auto& m : r.moves) std::cout << (a.dry_run ? "would move " : "moved ") << m << "\n";
  std::cout << r.packs << " packs; " << r.moved << " moved, " << r.rewritten
            << " recompressed into cold (" << Bytes(r.bytes_moved) << ")";
  if (!a.dry_run) {
    std::cout << "; now";
    for (const auto& [t, n] : r.packs_per_tier) {
      std::cout << " " << t << " " << n << " (" << Bytes(r.bytes_per_tier[t]) << ")";
    }
  }
  std::cout << "\n";
  // Descriptors naming moved packs would fail in Paimon Java and pypaimon: point them anew.
  if (!a.dry_run && r.moved + r.rewritten > 0) return RelinkDescriptors(warehouse);
  return Status::OK();
}

Status Relink(const std::string& warehouse, const BlobArgs&) {
  return RelinkDescriptors(warehouse);
}

void RegisterBlob(CLI::App& app, const std::string& warehouse, std::vector<Command>* out) {
  auto a = std::make_shared<BlobArgs>();
  auto* blob = app.add_subcommand(
      "blob", "Content-addressed blob store: put, get, stat, stats, verify, gc.\n"
              "Example: millpond blob put photo.jpg && millpond blob get sha256:<hex> -o copy.jpg");
  blob->require_subcommand(1);
  auto add = [&](CLI::App* sub, Status (*fn)(const std::string&, const BlobArgs&)) {
    out->push_back(Command{sub, [a, &warehouse, fn] { return fn(warehouse, *a); }});
  };

  auto* put = blob->add_subcommand("put", "Store files (or '-' for stdin); prints 'ID  FILE'.\n"
                                          "Example: millpond blob put images/*.jpg");
  put->add_option("FILE", a->files, "Files to store")->required();
  add(put, &Put);

  auto* get = blob->add_subcommand(
      "get", "Write a blob (or a byte range of it) to stdout or a file.\n"
             "Example: millpond blob get sha256:<hex> --range 0-1023 --output head.bin");
  get->add_option("ID", a->id, "sha256:<hex>")->required();
  get->add_option("--range", a->range, "A-B: bytes A to B inclusive; A-: from A to the end");
  get->add_option("--output,-o", a->output, "Output file (default stdout)");
  add(get, &Get);

  auto* stat = blob->add_subcommand("stat", "Size, chunks, content class and packs of a blob.");
  stat->add_option("ID", a->id, "sha256:<hex>")->required();
  add(stat, &Stat);

  auto* stats = blob->add_subcommand(
      "stats", "Stored vs logical bytes, dedup ratio, compression per content type, tiers.");
  stats->add_option("--format", a->format, "text or json")
      ->check(CLI::IsMember({"text", "json"}));
  add(stats, &Stats);

  auto* verify = blob->add_subcommand(
      "verify", "Check every pack and index segment; exit 1 if anything is corrupt or missing.");
  verify->add_flag("--quick", a->quick, "Checksums only (skip decoding and SHA-256 of chunks)");
  add(verify, &Verify);

  auto* gc = blob->add_subcommand(
      "gc", "Delete blobs not in a live set and older than the grace period (testing aid; "
            "`millpond gc` computes the live set from tables).\n"
            "Example: millpond blob gc --live-file live.txt --grace 1d");
  gc->add_option("--live-file", a->live_file, "Live blob ids, one per line")->required();
  gc->add_option("--grace", a->grace, "Keep blobs referenced this recently (e.g. 1d, 6h, 0s)");
  gc->add_flag("--dry-run", a->dry_run, "Report, change nothing");
  add(gc, &Gc);

  auto* relink = blob->add_subcommand(
      "relink", "Point the Paimon blob descriptors of every table at the packs that hold the "
                "blobs now\n(tier apply and gc do this after moving packs).");
  add(relink, &Relink);

  auto* tier = app.add_subcommand("tier", "Blob pack placement in hot, warm and cold tiers.");
  tier->require_subcommand(1);
  auto* apply = tier->add_subcommand(
      "apply", "Move blob packs between tiers by age and last access (blob ids do not change).\n"
               "Default policy: cold after 30 days idle, warm after 7, else hot.\n"
               "Example: millpond tier apply --policy tiers.yaml");
  apply->add_option("--policy", a->policy, "Policy file (JSON or YAML; docs/format/blob-pack.md)");
  apply->add_flag("--dry-run", a->dry_run, "Report the moves, change nothing");
  add(apply, &TierApply);
}

const bool kRegistered = AddCommands(&RegisterBlob);

}  // namespace
}  // namespace millpond::cli
