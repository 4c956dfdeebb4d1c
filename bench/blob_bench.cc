// Blob store benchmark (bench/blob_run.sh): chunk+hash+store throughput per core against the
// SHA-256 limit, the dedup ratio of ten datasets sharing 80 % of their photos, and random blob
// reads against the same files in a plain folder. Prints one JSON object per line.
//   blob_bench --data DIR --work DIR [--threads N] [--repeat R] [--reads N]
#include <fcntl.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <random>
#include <string>
#include <thread>
#include <vector>

#include <arrow/buffer.h>
#include <nlohmann/json.hpp>
#include <openssl/evp.h>

#include "millpond/blob/blob_store.h"
#include "millpond/blob/fastcdc.h"
#include "millpond/blob/inspect.h"
#include "blob/content.h"
#include "blob/sha256.h"

namespace mb = millpond::blob;
using nlohmann::json;

namespace {

struct File {
  std::string path, kind, bytes;
  mb::BlobId id;
};

double Now() {
  return std::chrono::duration<double>(std::chrono::steady_clock::now().time_since_epoch())
      .count();
}

double CpuSeconds() {
  rusage u{};
  getrusage(RUSAGE_SELF, &u);
  return static_cast<double>(u.ru_utime.tv_sec + u.ru_stime.tv_sec) +
         static_cast<double>(u.ru_utime.tv_usec + u.ru_stime.tv_usec) / 1e6;
}

[[noreturn]] void Die(const std::string& what) {
  std::fprintf(stderr, "blob_bench: %s\n", what.c_str());
  std::exit(1);
}

template <typename T>
T Check(millpond::Result<T> r, const char* what) {
  if (!r.ok()) Die(std::string(what) + ": " + r.status().ToString());
  return std::move(r).ValueUnsafe();
}

void Check(const millpond::Status& st, const char* what) {
  if (!st.ok()) Die(std::string(what) + ": " + st.ToString());
}

std::string ReadFile(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  return std::string((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
}

// Runs fn(i) for i in [0, n) on `threads` threads.
template <typename Fn>
void Parallel(size_t n, int threads, Fn fn) {
  std::atomic<size_t> next{0};
  auto work = [&] {
    for (size_t i = next++; i < n; i = next++) fn(i);
  };
  std::vector<std::thread> pool;
  for (int t = 1; t < threads; ++t) pool.emplace_back(work);
  work();
  for (auto& t : pool) t.join();
}

void Emit(const json& j) { std::cout << j.dump() << std::endl; }

constexpr size_t kPutBatch = 32;  // blobs per PutMany

}  // namespace

int main(int argc, char** argv) {
  std::string data, work;
  int threads = static_cast<int>(std::max(1u, std::thread::hardware_concurrency()));
  int repeat = 3;
  size_t reads = 2000;
  std::string phases = "hash,floor,put,dedup,read";
  for (int i = 1; i + 1 < argc; i += 2) {
    std::string a = argv[i];
    if (a == "--data") data = argv[i + 1];
    else if (a == "--work") work = argv[i + 1];
    else if (a == "--threads") threads = std::atoi(argv[i + 1]);
    else if (a == "--repeat") repeat = std::atoi(argv[i + 1]);
    else if (a == "--reads") reads = static_cast<size_t>(std::atoll(argv[i + 1]));
    else if (a == "--phases") phases = argv[i + 1];
    else Die("unknown option " + a);
  }
  if (data.empty() || work.empty()) Die("usage: blob_bench --data DIR --work DIR");
  json manifest = json::parse(ReadFile(data + "/manifest.json"));
  std::vector<File> files;
  size_t total = 0;
  for (const auto& f : manifest["files"]) {
    File x;
    x.path = f["path"].get<std::string>();
    x.kind = f["kind"].get<std::string>();
    x.bytes = ReadFile(x.path);
    x.id = mb::BlobId::Of(x.bytes);
    total += x.bytes.size();
    files.push_back(std::move(x));
  }
  std::fprintf(stderr, "blob_bench: %zu files, %.2f GiB in memory; %d threads\n", files.size(),
               total / double(1 << 30), threads);
  std::filesystem::create_directories(work);
  std::string root;
  auto fs = Check(millpond::fs::FileSystem::Make(work, &root), "file system");

  auto phase = [&](const char* p) { return phases.find(p) != std::string::npos; };
  // 1. Hashing limit (SHA-256 over 64 KiB blocks, as `openssl speed -bytes 65536`) and FastCDC.
  if (phase("hash")) {
    std::string block(64 << 10, 'x');
    for (size_t i = 0; i < block.size(); ++i) block[i] = static_cast<char>(i * 2654435761u >> 13);
    double best = 0, best_cpu = 0;
    for (int r = 0; r < repeat; ++r) {
      unsigned char md[32];
      unsigned len;
      const int n = 8192;  // 512 MiB
      double t0 = Now(), c0 = CpuSeconds();
      for (int i = 0; i < n; ++i) EVP_Digest(block.data(), block.size(), md, &len, EVP_sha256(), nullptr);
      best = std::max(best, n * double(block.size()) / (Now() - t0) / 1e9);
      best_cpu = std::max(best_cpu, n * double(block.size()) / (CpuSeconds() - c0) / 1e9);
    }
    Emit({{"what", "sha256"}, {"gbps", best}, {"gbps_per_cpu_second", best_cpu}});
    // Chunk ids: independent 64 KiB messages, sixteen at a time in AVX-512 lanes.
    if (mb::Sha256LanesAvailable()) {
      std::string many(64 << 20, '\0');
      for (size_t i = 0; i < many.size(); ++i) many[i] = static_cast<char>(i * 2654435761u >> 11);
      std::vector<std::string_view> msgs;
      for (size_t off = 0; off < many.size(); off += 64 << 10) msgs.emplace_back(many.data() + off, 64 << 10);
      std::vector<mb::Digest> out(msgs.size());
      double lbest = 0;
      for (int r = 0; r < repeat * 3; ++r) {
        double t0 = Now();
        mb::Sha256Many(msgs.data(), msgs.size(), out.data(), mb::Sha256Path::kLanes);
        lbest = std::max(lbest, many.size() / (Now() - t0) / 1e9);
      }
      Emit({{"what", "sha256_lanes"}, {"gbps", lbest}});
    }
    auto cdc = Check(mb::FastCdc::Make(64 * 1024), "fastcdc");
    double cbest = 0;
    for (int r = 0; r < repeat; ++r) {
      double t0 = Now();
      size_t chunks = 0;
      for (const auto& f : files) chunks += cdc.Cut(f.bytes).size();
      cbest = std::max(cbest, total / (Now() - t0) / 1e9);
      (void)chunks;
    }
    Emit({{"what", "fastcdc"}, {"gbps", cbest}});
  }

  // 1b. The floor: each step a put must take, timed alone over all the data on one core, as
  // PutMany takes it (blob ids and chunk ids in batches, FastCDC, the content probe and zstd for
  // what is compressed, writing the stored bytes to the page cache). A put cannot beat their sum.
  if (phase("floor")) {
    const mb::BlobStoreOptions dflt;
    auto cdc = Check(mb::FastCdc::Make(dflt.average_chunk_size), "fastcdc");
    double best = 1e30;
    json parts;
    for (int r = 0; r < repeat; ++r) {
      double t_ids = 0, t_cut = 0, t_chunk_ids = 0, t_encode = 0, t_write = 0;
      const std::string out_path = work + "/floor.bin";
      int fd = ::open(out_path.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
      if (fd < 0) Die("open " + out_path);
      std::string scratch;
      for (size_t b = 0; b < files.size(); b += kPutBatch) {
        std::vector<std::string_view> blobs;
        for (size_t i = b; i < std::min(files.size(), b + kPutBatch); ++i) {
          blobs.push_back(files[i].bytes);
        }
        std::vector<mb::Digest> ids(blobs.size());
        double t0 = Now();
        mb::Sha256Many(blobs.data(), blobs.size(), ids.data());
        double t1 = Now();
        std::vector<std::string_view> chunks;
        std::vector<mb::ContentClass> classes;
        for (auto blob : blobs) {
          const auto cls = mb::Classify(blob.substr(0, 512));
          if (static_cast<int64_t>(blob.size()) < dflt.small_blob_threshold) {
            chunks.push_back(blob);
            classes.push_back(cls);
            continue;
          }
          for (size_t n : cdc.Cut(blob)) {
            chunks.push_back(blob.substr(0, n));
            classes.push_back(cls);
            blob.remove_prefix(n);
          }
        }
        double t2 = Now();
        std::vector<mb::Digest> cids(chunks.size());
        mb::Sha256Many(chunks.data(), chunks.size(), cids.data());
        double t3 = Now();
        std::vector<std::string_view> stored;  // raw payloads are views of the chunk
        std::vector<std::string> compressed;
        compressed.reserve(chunks.size());
        for (size_t k = 0; k < chunks.size(); ++k) {
          auto enc = Check(mb::EncodeChunk(chunks[k], classes[k], dflt.zstd_level_hot, &scratch),
                           "encode");
          if (enc.payload.data() == chunks[k].data()) {
            stored.push_back(enc.payload);
          } else {
            stored.push_back(compressed.emplace_back(enc.payload));
          }
        }
        double t4 = Now();
        for (const auto& p : stored) {
          if (::write(fd, p.data(), p.size()) != static_cast<ssize_t>(p.size())) Die("write");
        }
        double t5 = Now();
        t_ids += t1 - t0;
        t_cut += t2 - t1;
        t_chunk_ids += t3 - t2;
        t_encode += t4 - t3;
        t_write += t5 - t4;
      }
      ::close(fd);
      std::filesystem::remove(out_path);
      const double sum = t_ids + t_cut + t_chunk_ids + t_encode + t_write;
      if (sum < best) {
        best = sum;
        parts = {{"blob_ids", t_ids}, {"fastcdc", t_cut}, {"chunk_ids", t_chunk_ids},
                 {"probe_and_zstd", t_encode}, {"write", t_write}};
      }
    }
    Emit({{"what", "put_floor"}, {"bytes", total}, {"seconds", best}, {"gbps", total / best / 1e9},
          {"parts_seconds", parts}});
  }

  // 2. Chunk + hash + compress + store, from memory, into a fresh store per run.
  mb::BlobStoreOptions opts;
  opts.sync_on_flush = false;  // measured separately below
  // batch 1: one Put per blob; otherwise PutMany over `batch` blobs at a time (as `ingest files`
  // does), which hashes ids and chunks of several blobs together.
  auto put_run = [&](const std::vector<const File*>& set, int nthreads, const std::string& dir,
                     bool sync, size_t batch = kPutBatch) {
    std::filesystem::remove_all(dir);
    std::string r;
    auto dfs = Check(millpond::fs::FileSystem::Make(dir, &r), "fs");
    mb::BlobStoreOptions o = opts;
    o.sync_on_flush = sync;
    auto store = Check(mb::BlobStore::Open(dfs, r, o), "open");
    size_t bytes = 0;
    for (auto* f : set) bytes += f->bytes.size();
    double c0 = CpuSeconds(), t0 = Now();
    if (batch <= 1) {
      Parallel(set.size(), nthreads, [&](size_t i) { Check(store->Put(set[i]->bytes), "put"); });
    } else {
      Parallel((set.size() + batch - 1) / batch, nthreads, [&](size_t b) {
        std::vector<std::string_view> views;
        for (size_t i = b * batch; i < std::min(set.size(), (b + 1) * batch); ++i) {
          views.push_back(set[i]->bytes);
        }
        Check(store->PutMany(views), "put many");
      });
    }
    double t1 = Now(), c1 = CpuSeconds();
    Check(store->Flush(), "flush");
    double t2 = Now();
    return json{{"bytes", bytes}, {"seconds", t1 - t0}, {"cpu_seconds", c1 - c0},
                {"flush_seconds", t2 - t1}};
  };
  std::vector<const File*> all;
  for (const auto& f : files) all.push_back(&f);
  const std::string store_dir = work + "/store";
  for (int n : {1, threads}) {
    if (!phase("put")) break;
    for (size_t batch : {size_t{1}, kPutBatch}) {
      double s = 1e30, cpu = 1e30;
      for (int r = 0; r < repeat; ++r) {
        json j = put_run(all, n, store_dir, /*sync=*/false, batch);
        s = std::min(s, j["seconds"].get<double>());
        cpu = std::min(cpu, j["cpu_seconds"].get<double>());
      }
      Emit({{"what", "put"}, {"kind", "all"}, {"threads", n}, {"batch", batch},
            {"bytes", total}, {"seconds", s}, {"cpu_seconds", cpu}, {"gbps", total / s / 1e9},
            {"gbps_per_core", total / s / 1e9 / n}, {"gbps_per_cpu_second", total / cpu / 1e9}});
    }
    if (n == threads && threads == 1) break;
  }
  for (const char* kind : {"photo", "video", "log", "sensor"}) {
    if (!phase("put")) break;
    std::vector<const File*> set;
    size_t bytes = 0;
    for (const auto& f : files) {
      if (f.kind == kind) {
        set.push_back(&f);
        bytes += f.bytes.size();
      }
    }
    if (set.empty()) continue;
    double s = 1e30, cpu = 1e30;
    for (int r = 0; r < repeat; ++r) {
      json j = put_run(set, 1, work + "/store-kind", false);
      s = std::min(s, j["seconds"].get<double>());
      cpu = std::min(cpu, j["cpu_seconds"].get<double>());
    }
    Emit({{"what", "put"}, {"kind", kind}, {"threads", 1}, {"batch", kPutBatch},
          {"bytes", bytes}, {"seconds", s},
          {"cpu_seconds", cpu}, {"gbps", bytes / s / 1e9}, {"gbps_per_core", bytes / s / 1e9},
          {"gbps_per_cpu_second", bytes / cpu / 1e9}});
  }
  std::filesystem::remove_all(work + "/store-kind");
  if (phase("put") || !std::filesystem::exists(store_dir)) {
    // The store the reads use, written once more with fsync at Flush (the durable default).
    json j = put_run(all, threads, store_dir, /*sync=*/true);
    Emit({{"what", "put_durable"}, {"threads", threads}, {"bytes", total},
          {"seconds", j["seconds"]}, {"flush_fsync_seconds", j["flush_seconds"]},
          {"gbps", total / (j["seconds"].get<double>() + j["flush_seconds"].get<double>()) / 1e9}});
    std::string r;
    auto dfs = Check(millpond::fs::FileSystem::Make(store_dir, &r), "fs");
    auto s = Check(mb::ComputeStats(dfs, r), "stats");
    json classes = json::object();
    for (const auto& [c, v] : s.classes) {
      classes[c] = {{"raw_bytes", v.raw_bytes}, {"stored_bytes", v.stored_bytes},
                    {"ratio", v.stored_bytes ? double(v.raw_bytes) / v.stored_bytes : 0.0}};
    }
    Emit({{"what", "stats"}, {"logical_bytes", s.logical_bytes}, {"chunk_bytes", s.chunk_bytes},
          {"stored_bytes", s.stored_bytes}, {"pack_bytes", s.pack_bytes}, {"packs", s.packs},
          {"chunks", s.chunks}, {"classes", classes}});
  }

  // 3. Ten datasets sharing 80 % of their photos.
  if (phase("dedup")) {
    std::unordered_map<std::string, const File*> by_path;
    for (const auto& f : files) by_path[f.path] = &f;
    std::vector<const File*> set;
    std::unordered_map<std::string, size_t> distinct;
    size_t logical = 0;
    for (const auto& ds : manifest["datasets"]) {
      for (const auto& p : ds) {
        const File* f = by_path.at(p.get<std::string>());
        set.push_back(f);
        logical += f->bytes.size();
        distinct[f->path] = f->bytes.size();
      }
    }
    size_t unique = 0;
    for (const auto& [p, n] : distinct) unique += n;
    json j = put_run(set, threads, work + "/dedup", false);
    std::string r;
    auto dfs = Check(millpond::fs::FileSystem::Make(work + "/dedup", &r), "fs");
    auto s = Check(mb::ComputeStats(dfs, r), "stats");
    Emit({{"what", "dedup"}, {"datasets", manifest["datasets"].size()}, {"files", set.size()},
          {"logical_bytes", logical}, {"pack_bytes", s.pack_bytes},
          {"ratio", double(logical) / double(s.pack_bytes)},
          {"ideal", double(logical) / double(unique)}, {"seconds", j["seconds"]},
          {"gbps", logical / j["seconds"].get<double>() / 1e9}});
    std::filesystem::remove_all(work + "/dedup");
  }

  // 4. Random reads of whole blobs: the store against the same files in their folder.
  if (!phase("read")) return 0;
  std::mt19937_64 rng(42);
  std::vector<size_t> sample(std::min(reads, files.size() * 4));
  for (auto& s : sample) s = rng() % files.size();
  {
    json j = json::array();
    for (size_t s : sample) j.push_back(s);
    std::ofstream(work + "/read_sample.json") << j.dump();
  }
  size_t sample_bytes = 0;
  for (size_t s : sample) sample_bytes += files[s].bytes.size();
  std::string r;
  auto dfs = Check(millpond::fs::FileSystem::Make(store_dir, &r), "fs");
  mb::BlobStoreOptions ro;
  auto store = Check(mb::BlobStore::Open(dfs, r, ro), "open");
  // The same store without the decoded-chunk cache: every read of a compressed chunk decodes.
  mb::BlobStoreOptions ro_nocache = ro;
  ro_nocache.decoded_cache_bytes = 0;
  auto nocache = Check(mb::BlobStore::Open(dfs, r, ro_nocache), "open");
  std::atomic<uint64_t> sink{0};
  auto read_from = [&](mb::BlobStore* s, size_t i) {
    auto b = Check(s->Get(files[sample[i]].id), "get");
    if (static_cast<size_t>(b->size()) != files[sample[i]].bytes.size()) Die("short blob");
    sink += b->data()[b->size() / 2];
  };
  auto read_store = [&](size_t i) { read_from(store.get(), i); };
  auto read_nocache = [&](size_t i) { read_from(nocache.get(), i); };
  auto read_file = [&](size_t i) {
    const std::string& path = files[sample[i]].path;
    int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
    if (fd < 0) Die("open " + path);
    struct stat st {};
    ::fstat(fd, &st);
    auto buf = Check(arrow::AllocateBuffer(st.st_size), "alloc");
    size_t got = 0;
    while (got < static_cast<size_t>(st.st_size)) {
      ssize_t n = ::read(fd, buf->mutable_data() + got, st.st_size - got);
      if (n <= 0) Die("read " + path);
      got += static_cast<size_t>(n);
    }
    ::close(fd);
    sink += buf->data()[buf->size() / 2];
  };
  Parallel(sample.size(), threads, read_store);  // warm the page cache and the store
  Parallel(sample.size(), threads, read_file);
  for (int n : {1, threads}) {
    for (const char* system : {"millpond", "millpond-nocache", "files"}) {
      double best = 1e30, best_cpu = 1e30;
      for (int rep = 0; rep < repeat; ++rep) {
        double t0 = Now(), c0 = CpuSeconds();
        if (std::string(system) == "millpond") {
          Parallel(sample.size(), n, read_store);
        } else if (std::string(system) == "millpond-nocache") {
          Parallel(sample.size(), n, read_nocache);
        } else {
          Parallel(sample.size(), n, read_file);
        }
        best = std::min(best, Now() - t0);
        best_cpu = std::min(best_cpu, CpuSeconds() - c0);
      }
      Emit({{"what", "read"}, {"system", system}, {"threads", n}, {"blobs", sample.size()},
            {"bytes", sample_bytes}, {"seconds", best}, {"cpu_seconds", best_cpu},
            {"blobs_per_s", sample.size() / best}, {"mb_per_s", sample_bytes / best / 1e6},
            {"mb_per_cpu_s", sample_bytes / best_cpu / 1e6}});
    }
    if (threads == 1) break;
  }
  // By kind, one thread: where the time goes (compressed logs must be decompressed).
  for (const char* kind : {"photo", "video", "log", "sensor"}) {
    std::vector<size_t> idx;
    size_t bytes = 0;
    for (size_t i = 0; i < sample.size(); ++i) {
      if (files[sample[i]].kind == kind) {
        idx.push_back(i);
        bytes += files[sample[i]].bytes.size();
      }
    }
    if (idx.empty()) continue;
    for (const char* system : {"millpond", "millpond-nocache", "files"}) {
      double best = 1e30, best_cpu = 1e30;
      for (int rep = 0; rep < repeat; ++rep) {
        double t0 = Now(), c0 = CpuSeconds();
        for (size_t i : idx) {
          if (std::string(system) == "millpond") {
            read_store(i);
          } else if (std::string(system) == "millpond-nocache") {
            read_nocache(i);
          } else {
            read_file(i);
          }
        }
        best = std::min(best, Now() - t0);
        best_cpu = std::min(best_cpu, CpuSeconds() - c0);
      }
      Emit({{"what", "read_kind"}, {"kind", kind}, {"system", system}, {"blobs", idx.size()},
            {"bytes", bytes}, {"seconds", best}, {"cpu_seconds", best_cpu},
            {"mb_per_s", bytes / best / 1e6}, {"mb_per_cpu_s", bytes / best_cpu / 1e6}});
    }
  }
  // Many blobs through GetMany (the batch API).
  {
    std::vector<mb::BlobRange> ranges;
    for (size_t s : sample) ranges.push_back({files[s].id, 0, -1});
    double best = 1e30, best_cpu = 1e30;
    for (int rep = 0; rep < repeat; ++rep) {
      double t0 = Now(), c0 = CpuSeconds();
      auto got = store->GetMany(ranges, threads);
      best = std::min(best, Now() - t0);
      best_cpu = std::min(best_cpu, CpuSeconds() - c0);
      for (auto& g : got) Check(g.status(), "getmany");
    }
    Emit({{"what", "read"}, {"system", "millpond-getmany"}, {"threads", threads},
          {"blobs", sample.size()}, {"bytes", sample_bytes}, {"seconds", best},
          {"cpu_seconds", best_cpu}, {"blobs_per_s", sample.size() / best},
          {"mb_per_s", sample_bytes / best / 1e6}, {"mb_per_cpu_s", sample_bytes / best_cpu / 1e6}});
  }
  // Cold cache: every pack, index segment and plain file dropped from the page cache
  // (posix_fadvise DONTNEED on clean, unmapped files; no root needed) before each run, and a
  // fresh store (no mappings) per millpond run: what a reader sees when data is on disk.
  {
    std::vector<std::string> store_files;
    for (const auto& e : std::filesystem::recursive_directory_iterator(store_dir)) {
      if (e.is_regular_file()) store_files.push_back(e.path().string());
    }
    auto drop = [](const std::string& path) {
      int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
      if (fd < 0) Die("open " + path);
      ::posix_fadvise(fd, 0, 0, POSIX_FADV_DONTNEED);
      ::close(fd);
    };
    store.reset();
    nocache.reset();
    for (int n : {1, threads}) {
      for (const char* system : {"millpond", "files"}) {
        const bool mp = std::string(system) == "millpond";
        double best = 1e30, best_cpu = 1e30;
        for (int rep = 0; rep < repeat; ++rep) {
          std::unique_ptr<mb::BlobStore> cold;
          if (mp) {
            for (const auto& f : store_files) drop(f);
            cold = Check(mb::BlobStore::Open(dfs, r, ro), "open");
            for (const auto& f : store_files) drop(f);  // the index segments Open just read
          } else {
            for (size_t s : sample) drop(files[s].path);
          }
          double t0 = Now(), c0 = CpuSeconds();
          if (mp) {
            Parallel(sample.size(), n, [&](size_t i) {
              auto b = Check(cold->Get(files[sample[i]].id), "get");
              if (static_cast<size_t>(b->size()) != files[sample[i]].bytes.size()) Die("short");
              sink += b->data()[b->size() / 2];
            });
          } else {
            Parallel(sample.size(), n, read_file);
          }
          best = std::min(best, Now() - t0);
          best_cpu = std::min(best_cpu, CpuSeconds() - c0);
        }
        Emit({{"what", "read_cold"}, {"system", system}, {"threads", n}, {"blobs", sample.size()},
              {"bytes", sample_bytes}, {"seconds", best}, {"cpu_seconds", best_cpu},
              {"blobs_per_s", sample.size() / best}, {"mb_per_s", sample_bytes / best / 1e6},
              {"mb_per_cpu_s", sample_bytes / best_cpu / 1e6}});
      }
      if (threads == 1) break;
    }
  }
  std::fprintf(stderr, "blob_bench: done (%llu)\n", static_cast<unsigned long long>(sink.load() & 1));
  return 0;
}
