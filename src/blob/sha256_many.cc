// Sha256Many: SHA-256 (FIPS 180-4) of many independent messages at once. On CPUs with AVX-512
// (F+BW) sixteen messages advance together, one per 32-bit lane of the zmm registers ("multi-buffer"
// hashing, as Intel's ISA-L crypto does it; no packaged library offers it here). Elsewhere, and for
// batches too small to fill lanes, each message goes through OpenSSL (SHA-NI where present).
//
// Chunk ids are SHA-256 of chunks, which are independent: that is what makes the lanes fillable.
// Blob ids go through the lanes when many blobs are put together (PutMany); a blob alone is one
// sequential stream, hashed by OpenSSL.
// GCC 12 flags its own AVX-512 intrinsics (_mm512_undefined_epi32 inside them) as maybe-uninitialized.
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"
#include <immintrin.h>

#include <algorithm>
#include <cstdlib>
#include <cstring>
#include <vector>

#include "sha256.h"

namespace millpond::blob {
namespace {

constexpr uint32_t kK[64] = {
    0x428a2f98, 0x71374491, 0xb5c0fbcf, 0xe9b5dba5, 0x3956c25b, 0x59f111f1, 0x923f82a4, 0xab1c5ed5,
    0xd807aa98, 0x12835b01, 0x243185be, 0x550c7dc3, 0x72be5d74, 0x80deb1fe, 0x9bdc06a7, 0xc19bf174,
    0xe49b69c1, 0xefbe4786, 0x0fc19dc6, 0x240ca1cc, 0x2de92c6f, 0x4a7484aa, 0x5cb0a9dc, 0x76f988da,
    0x983e5152, 0xa831c66d, 0xb00327c8, 0xbf597fc7, 0xc6e00bf3, 0xd5a79147, 0x06ca6351, 0x14292967,
    0x27b70a85, 0x2e1b2138, 0x4d2c6dfc, 0x53380d13, 0x650a7354, 0x766a0abb, 0x81c2c92e, 0x92722c85,
    0xa2bfe8a1, 0xa81a664b, 0xc24b8b70, 0xc76c51a3, 0xd192e819, 0xd6990624, 0xf40e3585, 0x106aa070,
    0x19a4c116, 0x1e376c08, 0x2748774c, 0x34b0bcb5, 0x391c0cb3, 0x4ed8aa4a, 0x5b9cca4f, 0x682e6ff3,
    0x748f82ee, 0x78a5636f, 0x84c87814, 0x8cc70208, 0x90befffa, 0xa4506ceb, 0xbef9a3f7, 0xc67178f2};
constexpr uint32_t kH0[8] = {0x6a09e667, 0xbb67ae85, 0x3c6ef372, 0xa54ff53a,
                             0x510e527f, 0x9b05688c, 0x1f83d9ab, 0x5be0cd19};
constexpr int kLanes = 16;

// One lane's message as a sequence of 64-byte blocks: the message's whole blocks, then one or two
// padding blocks built in `tail`.
struct Lane {
  const uint8_t* block = nullptr;  // next block of the current segment
  size_t left = 0;                 // blocks left in the current segment
  bool in_tail = false;
  size_t tail_blocks = 0;
  size_t message = 0;  // index into the batch; SIZE_MAX when idle
  alignas(64) uint8_t tail[128];
};

void StartLane(Lane* lane, const std::string_view& m, size_t index) {
  const auto* p = reinterpret_cast<const uint8_t*>(m.data());
  const size_t whole = m.size() / 64, rest = m.size() % 64;
  std::memset(lane->tail, 0, sizeof(lane->tail));
  std::memcpy(lane->tail, p + whole * 64, rest);
  lane->tail[rest] = 0x80;
  lane->tail_blocks = rest + 1 + 8 <= 64 ? 1 : 2;
  const uint64_t bits = static_cast<uint64_t>(m.size()) * 8;
  uint8_t* len = lane->tail + lane->tail_blocks * 64 - 8;
  for (int i = 0; i < 8; ++i) len[i] = static_cast<uint8_t>(bits >> (56 - 8 * i));
  lane->message = index;
  if (whole > 0) {
    lane->block = p;
    lane->left = whole;
    lane->in_tail = false;
  } else {
    lane->block = lane->tail;
    lane->left = lane->tail_blocks;
    lane->in_tail = true;
  }
}

#define MP_AVX512 __attribute__((target("avx512f,avx512bw")))

template <int N>
MP_AVX512 inline __m512i Ror(__m512i x) {
  return _mm512_ror_epi32(x, N);
}

// Loads block row r of every lane and transposes them so that w[t] holds word t of all 16 lanes,
// byte-swapped to big-endian order.
MP_AVX512 inline void LoadTransposed(const uint8_t* const* rows, __m512i* w) {
  __m512i r[16], t[16];
  for (int i = 0; i < 16; ++i) r[i] = _mm512_loadu_si512(rows[i]);
  // 16x16 transpose of 32-bit words: 32-bit, 64-bit unpacks, then 128-bit lane shuffles.
  for (int i = 0; i < 16; i += 2) {
    t[i] = _mm512_unpacklo_epi32(r[i], r[i + 1]);
    t[i + 1] = _mm512_unpackhi_epi32(r[i], r[i + 1]);
  }
  for (int i = 0; i < 16; i += 4) {
    r[i] = _mm512_unpacklo_epi64(t[i], t[i + 2]);
    r[i + 1] = _mm512_unpackhi_epi64(t[i], t[i + 2]);
    r[i + 2] = _mm512_unpacklo_epi64(t[i + 1], t[i + 3]);
    r[i + 3] = _mm512_unpackhi_epi64(t[i + 1], t[i + 3]);
  }
  // r[4g + k] now holds, in each 128-bit lane q, word (4q + k) of rows 4g..4g+3.
  for (int k = 0; k < 4; ++k) {
    // Gather 128-bit lane q of r[k], r[4+k], r[8+k], r[12+k] into word group 4q + k.
    const __m512i a = _mm512_shuffle_i32x4(r[k], r[4 + k], 0x44);       // q0,q1 of r[k], r[4+k]
    const __m512i b = _mm512_shuffle_i32x4(r[k], r[4 + k], 0xee);       // q2,q3
    const __m512i c = _mm512_shuffle_i32x4(r[8 + k], r[12 + k], 0x44);  // q0,q1 of r[8+k], r[12+k]
    const __m512i d = _mm512_shuffle_i32x4(r[8 + k], r[12 + k], 0xee);  // q2,q3
    t[k] = _mm512_shuffle_i32x4(a, c, 0x88);       // q0 of all four
    t[4 + k] = _mm512_shuffle_i32x4(a, c, 0xdd);   // q1
    t[8 + k] = _mm512_shuffle_i32x4(b, d, 0x88);   // q2
    t[12 + k] = _mm512_shuffle_i32x4(b, d, 0xdd);  // q3
  }
  const __m512i swap = _mm512_set4_epi32(0x0c0d0e0f, 0x08090a0b, 0x04050607, 0x00010203);
  for (int i = 0; i < 16; ++i) w[i] = _mm512_shuffle_epi8(t[i], swap);
}

MP_AVX512 inline void Compress(__m512i* state, const uint8_t* const* rows) {
  __m512i w[16];
  LoadTransposed(rows, w);
  __m512i a = state[0], b = state[1], c = state[2], d = state[3];
  __m512i e = state[4], f = state[5], g = state[6], h = state[7];
#pragma GCC unroll 64
  for (int t = 0; t < 64; ++t) {
    __m512i wt;
    if (t < 16) {
      wt = w[t];
    } else {
      const __m512i w15 = w[(t - 15) & 15], w2 = w[(t - 2) & 15];
      const __m512i s0 =
          _mm512_ternarylogic_epi32(Ror<7>(w15), Ror<18>(w15), _mm512_srli_epi32(w15, 3), 0x96);
      const __m512i s1 =
          _mm512_ternarylogic_epi32(Ror<17>(w2), Ror<19>(w2), _mm512_srli_epi32(w2, 10), 0x96);
      wt = _mm512_add_epi32(_mm512_add_epi32(w[t & 15], s0),
                            _mm512_add_epi32(w[(t - 7) & 15], s1));
      w[t & 15] = wt;
    }
    const __m512i s1 = _mm512_ternarylogic_epi32(Ror<6>(e), Ror<11>(e), Ror<25>(e), 0x96);
    const __m512i ch = _mm512_ternarylogic_epi32(e, f, g, 0xca);
    const __m512i t1 = _mm512_add_epi32(
        _mm512_add_epi32(h, s1),
        _mm512_add_epi32(ch, _mm512_add_epi32(wt, _mm512_set1_epi32(static_cast<int>(kK[t])))));
    const __m512i s0 = _mm512_ternarylogic_epi32(Ror<2>(a), Ror<13>(a), Ror<22>(a), 0x96);
    const __m512i maj = _mm512_ternarylogic_epi32(a, b, c, 0xe8);
    h = g;
    g = f;
    f = e;
    e = _mm512_add_epi32(d, t1);
    d = c;
    c = b;
    b = a;
    a = _mm512_add_epi32(t1, _mm512_add_epi32(s0, maj));
  }
  state[0] = _mm512_add_epi32(state[0], a);
  state[1] = _mm512_add_epi32(state[1], b);
  state[2] = _mm512_add_epi32(state[2], c);
  state[3] = _mm512_add_epi32(state[3], d);
  state[4] = _mm512_add_epi32(state[4], e);
  state[5] = _mm512_add_epi32(state[5], f);
  state[6] = _mm512_add_epi32(state[6], g);
  state[7] = _mm512_add_epi32(state[7], h);
}

// Hashes msgs[order[0..n)] into out[order[k]], longest first (order is sorted that way), so
// that lanes run out of work at about the same time.
MP_AVX512 void HashLanes(const std::string_view* msgs, const size_t* order, size_t n,
                         Digest* out) {
  static const uint8_t kIdle[64] = {};
  Lane lanes[kLanes];
  alignas(64) uint32_t words[8][kLanes];
  __m512i state[8];
  size_t next = 0;
  for (int l = 0; l < kLanes; ++l) {
    if (next < n) {
      StartLane(&lanes[l], msgs[order[next]], order[next]);
      ++next;
    } else {
      lanes[l].message = SIZE_MAX;
    }
  }
  for (int i = 0; i < 8; ++i) state[i] = _mm512_set1_epi32(static_cast<int>(kH0[i]));
  const uint8_t* rows[kLanes];
  while (true) {
    // Run every lane up to the nearest segment end.
    size_t run = SIZE_MAX;
    for (int l = 0; l < kLanes; ++l) {
      if (lanes[l].message != SIZE_MAX) run = std::min(run, lanes[l].left);
    }
    if (run == SIZE_MAX) break;
    for (size_t b = 0; b < run; ++b) {
      for (int l = 0; l < kLanes; ++l) {
        rows[l] = lanes[l].message == SIZE_MAX ? kIdle : lanes[l].block + 64 * b;
      }
      Compress(state, rows);
    }
    // Segment ends: move to the padding, or finish the message and take the next one.
    bool reload = false;
    for (int l = 0; l < kLanes; ++l) {
      Lane& lane = lanes[l];
      if (lane.message == SIZE_MAX) continue;
      lane.block += 64 * run;
      lane.left -= run;
      if (lane.left > 0) continue;
      if (!lane.in_tail) {
        lane.block = lane.tail;
        lane.left = lane.tail_blocks;
        lane.in_tail = true;
        continue;
      }
      if (!reload) {
        for (int i = 0; i < 8; ++i) _mm512_store_si512(words[i], state[i]);
        reload = true;
      }
      for (int i = 0; i < 8; ++i) {
        const uint32_t v = words[i][l];
        uint8_t* d = out[lane.message].data() + 4 * i;
        d[0] = static_cast<uint8_t>(v >> 24);
        d[1] = static_cast<uint8_t>(v >> 16);
        d[2] = static_cast<uint8_t>(v >> 8);
        d[3] = static_cast<uint8_t>(v);
        words[i][l] = kH0[i];
      }
      if (next < n) {
        StartLane(&lane, msgs[order[next]], order[next]);
        ++next;
      } else {
        lane.message = SIZE_MAX;
      }
    }
    if (reload) {
      for (int i = 0; i < 8; ++i) state[i] = _mm512_load_si512(words[i]);
    }
  }
}

// MILLPOND_SHA256_LANES=0 turns the lanes off (to measure what they bring).
bool HaveAvx512() {
  static const bool have = [] {
    const char* env = std::getenv("MILLPOND_SHA256_LANES");
    if (env && std::string_view(env) == "0") return false;
    return __builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512bw");
  }();
  return have;
}

}  // namespace

void Sha256Many(const std::string_view* msgs, size_t n, Digest* out, Sha256Path path) {
  std::vector<size_t> lanes, alone;
  if (path != Sha256Path::kOpenSsl && HaveAvx512()) {
    for (size_t i = 0; i < n; ++i) {
      // A message much longer than the rest would leave fifteen lanes idle while it finishes.
      (path == Sha256Path::kLanes || msgs[i].size() <= kLaneMaxBytes ? lanes : alone).push_back(i);
    }
    if (path == Sha256Path::kAuto && lanes.size() < kMinLaneBatch) {
      alone.insert(alone.end(), lanes.begin(), lanes.end());
      lanes.clear();
    }
  } else {
    for (size_t i = 0; i < n; ++i) alone.push_back(i);
  }
  if (!lanes.empty()) {
    std::stable_sort(lanes.begin(), lanes.end(),
                     [&](size_t a, size_t b) { return msgs[a].size() > msgs[b].size(); });
    HashLanes(msgs, lanes.data(), lanes.size(), out);
  }
  for (size_t i : alone) out[i] = Sha256Of(msgs[i].data(), msgs[i].size());
}

bool Sha256LanesAvailable() { return HaveAvx512(); }

}  // namespace millpond::blob
