// Test helpers for the blob store tests: a temp warehouse, deterministic data, a fake clock.
#pragma once

#include <unistd.h>

#include <atomic>
#include <filesystem>
#include <random>
#include <string>

#include <gtest/gtest.h>

#include "millpond/blob/blob_store.h"
#include "millpond/fs/file_system.h"

namespace millpond::blob::testing {

#define MP_ASSERT_OK(expr)                                  \
  do {                                                      \
    auto _st = (expr);                                      \
    ASSERT_TRUE(_st.ok()) << #expr << ": " << _st.ToString(); \
  } while (0)

#define MP_ASSERT_OK_AND_ASSIGN(lhs, rexpr)                                  \
  auto MP_CONCAT(_r, __LINE__) = (rexpr);                                    \
  ASSERT_TRUE(MP_CONCAT(_r, __LINE__).ok())                                  \
      << #rexpr << ": " << MP_CONCAT(_r, __LINE__).status().ToString();     \
  lhs = std::move(MP_CONCAT(_r, __LINE__)).ValueUnsafe()
#define MP_CONCAT_INNER(a, b) a##b
#define MP_CONCAT(a, b) MP_CONCAT_INNER(a, b)

inline std::string RandomBytes(size_t n, uint64_t seed) {
  std::mt19937_64 rng(seed);
  std::string s(n, '\0');
  for (size_t i = 0; i < n; i += 8) {
    uint64_t v = rng();
    for (size_t k = 0; k < 8 && i + k < n; ++k) s[i + k] = static_cast<char>(v >> (8 * k));
  }
  return s;
}

/// Log-like text: compressible.
inline std::string LogText(size_t n, uint64_t seed) {
  std::mt19937_64 rng(seed);
  static const char* kLevels[] = {"INFO", "WARN", "DEBUG", "ERROR"};
  std::string s;
  while (s.size() < n) {
    s += "2026-11-25T10:" + std::to_string(rng() % 60) + ":" + std::to_string(rng() % 60) +
         " " + kLevels[rng() % 4] + " spindle=" + std::to_string(rng() % 8) +
         " temp=" + std::to_string(20 + rng() % 80) + " msg=cycle complete\n";
  }
  s.resize(n);
  return s;
}

/// A fake clock in milliseconds, shared by stores and maintenance runs of one test.
struct FakeClock {
  std::shared_ptr<std::atomic<int64_t>> now = std::make_shared<std::atomic<int64_t>>(1'000'000);
  std::function<int64_t()> fn() const {
    auto n = now;
    return [n] { return n->load(); };
  }
  void Set(int64_t t) { now->store(t); }
  void Advance(int64_t d) { now->fetch_add(d); }
};

inline constexpr int64_t kHour = 3600LL * 1000;
inline constexpr int64_t kDay = 24 * kHour;

class BlobTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = std::filesystem::temp_directory_path() /
           ("millpond_blob_test_" + std::to_string(::getpid()) + "_" +
            ::testing::UnitTest::GetInstance()->current_test_info()->name());
    std::filesystem::remove_all(dir_);
    std::filesystem::create_directories(dir_);
    auto f = fs::FileSystem::Make(dir_.string(), &root_);
    ASSERT_TRUE(f.ok()) << f.status().ToString();
    fs_ = *f;
    options_.clock = clock_.fn();
  }
  void TearDown() override { std::filesystem::remove_all(dir_); }

  Result<std::unique_ptr<BlobStore>> OpenStore() { return BlobStore::Open(fs_, root_, options_); }

  std::string ReadAll(BlobStore& s, const BlobId& id) {
    auto b = s.Get(id);
    if (!b.ok()) return "ERROR: " + b.status().ToString();
    return (*b)->ToString();
  }

  std::filesystem::path dir_;
  std::string root_;
  std::shared_ptr<fs::FileSystem> fs_;
  FakeClock clock_;
  BlobStoreOptions options_;
};

}  // namespace millpond::blob::testing
