// BlobId text forms and SHA-256 (OpenSSL EVP; the digest algorithm is fetched once).
#include <openssl/evp.h>

#include <cstdlib>

#include "millpond/blob/blob_store.h"
#include "sha256.h"

namespace millpond::blob {
namespace {

const EVP_MD* Md() {
  static EVP_MD* md = EVP_MD_fetch(nullptr, "SHA256", nullptr);
  return md ? md : EVP_sha256();
}

int HexValue(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

}  // namespace

Digest Sha256Of(const void* data, size_t n) {
  Digest d{};
  unsigned len = 0;
  EVP_Digest(data, n, d.data(), &len, Md(), nullptr);
  return d;
}

Sha256::Sha256() : ctx_(EVP_MD_CTX_new()) { Reset(); }
Sha256::~Sha256() { EVP_MD_CTX_free(ctx_); }
void Sha256::Reset() { EVP_DigestInit_ex(ctx_, Md(), nullptr); }
void Sha256::Update(const void* data, size_t n) { EVP_DigestUpdate(ctx_, data, n); }
Digest Sha256::Final() {
  Digest d{};
  unsigned len = 0;
  EVP_DigestFinal_ex(ctx_, d.data(), &len);
  Reset();
  return d;
}

std::string BlobId::Hex() const {
  static const char* kHex = "0123456789abcdef";
  std::string out(64, '0');
  for (size_t i = 0; i < digest.size(); ++i) {
    out[2 * i] = kHex[digest[i] >> 4];
    out[2 * i + 1] = kHex[digest[i] & 15];
  }
  return out;
}

std::string BlobId::ToString() const { return "sha256:" + Hex(); }

Result<BlobId> BlobId::Parse(std::string_view text) {
  std::string_view hex = text;
  if (hex.substr(0, 5) == "blob:") hex.remove_prefix(5);
  if (hex.substr(0, 7) == "sha256:") hex.remove_prefix(7);
  if (hex.size() != 64) {
    return Status::Invalid("not a blob id: '", text, "' (expected sha256:<64 hex digits>)");
  }
  BlobId id;
  for (size_t i = 0; i < 32; ++i) {
    int hi = HexValue(hex[2 * i]), lo = HexValue(hex[2 * i + 1]);
    if (hi < 0 || lo < 0) {
      return Status::Invalid("not a blob id: '", text, "' (expected sha256:<64 hex digits>)");
    }
    id.digest[i] = static_cast<uint8_t>(hi * 16 + lo);
  }
  return id;
}

BlobId BlobId::Of(std::string_view bytes) {
  BlobId id;
  id.digest = Sha256Of(bytes.data(), bytes.size());
  return id;
}

}  // namespace millpond::blob
