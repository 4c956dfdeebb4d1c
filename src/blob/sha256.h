// SHA-256 through OpenSSL's EVP interface (SHA-NI where the CPU has it): one-shot digests and a
// streaming hasher. A Sha256 object is single-threaded; the free function is thread-safe.
#pragma once

#include <openssl/evp.h>

#include <array>
#include <cstdint>
#include <string_view>

namespace millpond::blob {

using Digest = std::array<uint8_t, 32>;

Digest Sha256Of(const void* data, size_t n);

// SHA-256 of n independent messages into out[0..n). kAuto runs them sixteen at a time in AVX-512
// lanes, longest first, when the CPU has AVX-512 (F+BW) and at least kMinLaneBatch messages are at
// most kLaneMaxBytes long; the others go one at a time through OpenSSL (SHA-NI). kLanes and
// kOpenSsl force a path (kLanes falls back to OpenSSL where the CPU lacks AVX-512).
enum class Sha256Path { kAuto, kLanes, kOpenSsl };
constexpr size_t kMinLaneBatch = 10;  // below it, idle lanes cost more than SHA-NI
constexpr size_t kLaneMaxBytes = 8u << 20;
void Sha256Many(const std::string_view* msgs, size_t n, Digest* out,
                Sha256Path path = Sha256Path::kAuto);
bool Sha256LanesAvailable();

class Sha256 {
 public:
  Sha256();
  ~Sha256();
  Sha256(const Sha256&) = delete;
  Sha256& operator=(const Sha256&) = delete;

  void Reset();
  void Update(const void* data, size_t n);
  Digest Final();

 private:
  EVP_MD_CTX* ctx_;
};

}  // namespace millpond::blob
