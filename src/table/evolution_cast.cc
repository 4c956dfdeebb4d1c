// Paimon cast rules for schema evolution.
#include "evolution_cast.h"

#include <arrow/array.h>
#include <arrow/builder.h>
#include <arrow/chunked_array.h>
#include <arrow/compute/api_scalar.h>
#include <arrow/compute/cast.h>
#include <arrow/scalar.h>

namespace millpond::table {
namespace {

using paimon::TypeRoot;

bool IsTimestamp(const paimon::DataType& t) {
  return t.root == TypeRoot::kTimestamp || t.root == TypeRoot::kLocalZonedTimestamp;
}

int64_t UnitsPerSecond(arrow::TimeUnit::type u) {
  switch (u) {
    case arrow::TimeUnit::SECOND:
      return 1;
    case arrow::TimeUnit::MILLI:
      return 1000;
    case arrow::TimeUnit::MICRO:
      return 1000000;
    case arrow::TimeUnit::NANO:
      return 1000000000;
  }
  return 1;
}

int64_t FloorDiv(int64_t a, int64_t b) {
  int64_t q = a / b;
  if ((a % b != 0) && ((a < 0) != (b < 0))) --q;
  return q;
}


// DateTimeUtils.formatTimestamp: the fraction keeps at least `precision` digits and drops
// further trailing zeros.
std::string FormatTimestamp(int64_t value, int64_t per_sec, int precision) {
  int64_t secs = FloorDiv(value, per_sec);
  int64_t nanos = (value - secs * per_sec) * (1000000000 / per_sec);
  int64_t days = FloorDiv(secs, 86400), sod = secs - days * 86400;
  int64_t y;
  unsigned m, d;
  paimon::CivilFromDays(days, &y, &m, &d);
  char buf[64];
  std::snprintf(buf, sizeof(buf), "%04lld-%02u-%02u %02d:%02d:%02d", static_cast<long long>(y), m, d,
                static_cast<int>(sod / 3600), static_cast<int>(sod / 60 % 60),
                static_cast<int>(sod % 60));
  std::string out = buf;
  char frac[16];
  std::snprintf(frac, sizeof(frac), "%09lld", static_cast<long long>(nanos));
  std::string f = frac;
  while (static_cast<int>(f.size()) > precision && f.back() == '0') f.pop_back();
  if (!f.empty()) out += "." + f;
  return out;
}

Result<std::shared_ptr<arrow::Array>> CastChunk(const std::shared_ptr<arrow::Array>& in,
                                                const paimon::DataType& from,
                                                const paimon::DataType& to) {
  auto target = paimon::ToArrowType(to);
  const int64_t n = in->length();
  if (from.IsString() && to.root == TypeRoot::kBoolean) {
    // BinaryStringUtils.toBoolean: trimmed, case-insensitive t/true/y/yes/1 and f/false/n/no/0.
    const auto& s = static_cast<const arrow::StringArray&>(*in);
    arrow::BooleanBuilder b;
    ARROW_RETURN_NOT_OK(b.Reserve(n));
    for (int64_t i = 0; i < n; ++i) {
      if (s.IsNull(i)) {
        b.UnsafeAppendNull();
        continue;
      }
      std::string v(s.GetView(i));
      size_t a = v.find_first_not_of(" \t\r\n"), e = v.find_last_not_of(" \t\r\n");
      v = a == std::string::npos ? "" : v.substr(a, e - a + 1);
      for (auto& c : v) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
      if (v == "t" || v == "true" || v == "y" || v == "yes" || v == "1") {
        b.UnsafeAppend(true);
      } else if (v == "f" || v == "false" || v == "n" || v == "no" || v == "0") {
        b.UnsafeAppend(false);
      } else {
        b.UnsafeAppendNull();
      }
    }
    return b.Finish();
  }
  if (IsTimestamp(from) && (to.IsInteger() || to.IsString())) {
    const auto& ts = static_cast<const arrow::TimestampArray&>(*in);
    int64_t per_sec = UnitsPerSecond(static_cast<const arrow::TimestampType&>(*in->type()).unit());
    if (to.IsInteger()) {
      arrow::Int64Builder b;
      ARROW_RETURN_NOT_OK(b.Reserve(n));
      for (int64_t i = 0; i < n; ++i) {
        if (ts.IsNull(i)) {
          b.UnsafeAppendNull();
        } else {
          b.UnsafeAppend(FloorDiv(ts.Value(i), per_sec));
        }
      }
      ARROW_ASSIGN_OR_RAISE(auto secs, b.Finish());
      ARROW_ASSIGN_OR_RAISE(auto out, arrow::compute::Cast(*secs, target));
      return out;
    }
    arrow::StringBuilder b;
    for (int64_t i = 0; i < n; ++i) {
      if (ts.IsNull(i)) {
        ARROW_RETURN_NOT_OK(b.AppendNull());
      } else {
        ARROW_RETURN_NOT_OK(b.Append(FormatTimestamp(ts.Value(i), per_sec, from.precision)));
      }
    }
    return b.Finish();
  }
  if (from.IsInteger() && IsTimestamp(to)) {
    ARROW_ASSIGN_OR_RAISE(auto wide, arrow::compute::Cast(*in, arrow::int64()));
    const auto& v = static_cast<const arrow::Int64Array&>(*wide);
    int64_t per_sec = UnitsPerSecond(static_cast<const arrow::TimestampType&>(*target).unit());
    arrow::TimestampBuilder b(target, arrow::default_memory_pool());
    ARROW_RETURN_NOT_OK(b.Reserve(n));
    for (int64_t i = 0; i < n; ++i) {
      if (v.IsNull(i)) {
        b.UnsafeAppendNull();
      } else {
        b.UnsafeAppend(v.Value(i) * per_sec);
      }
    }
    return b.Finish();
  }
  if (IsTimestamp(from) && IsTimestamp(to)) {
    // Same instant / wall-clock value in UTC; only the unit and the zone marker change.
    auto src_unit = static_cast<const arrow::TimestampType&>(*in->type()).unit();
    auto as_src = arrow::timestamp(src_unit, static_cast<const arrow::TimestampType&>(*target).timezone());
    ARROW_ASSIGN_OR_RAISE(auto relabeled, in->View(as_src));
    arrow::compute::CastOptions opts = arrow::compute::CastOptions::Unsafe();
    return arrow::compute::Cast(*relabeled, target, opts);
  }
  if (from.IsString() && !to.IsString()) {
    ARROW_ASSIGN_OR_RAISE(auto trimmed, arrow::compute::CallFunction(
                                            "utf8_trim_whitespace", {in}));
    auto r = arrow::compute::Cast(trimmed, target, arrow::compute::CastOptions::Safe());
    if (r.ok()) return r->make_array();
    // Values Paimon cannot convert become null rather than failing the read.
    const auto& s = static_cast<const arrow::StringArray&>(*trimmed.make_array());
    std::unique_ptr<arrow::ArrayBuilder> b;
    ARROW_RETURN_NOT_OK(arrow::MakeBuilder(arrow::default_memory_pool(), target, &b));
    for (int64_t i = 0; i < n; ++i) {
      auto one = s.IsNull(i) ? Result<arrow::Datum>(Status::Invalid("null"))
                             : arrow::compute::Cast(arrow::Datum(s.Slice(i, 1)), target);
      if (one.ok()) {
        ARROW_RETURN_NOT_OK(b->AppendArraySlice(*one->make_array()->data(), 0, 1));
      } else {
        ARROW_RETURN_NOT_OK(b->AppendNull());
      }
    }
    return b->Finish();
  }
  // Numbers narrow the way Java casts do: fractions are truncated (DOUBLE 11.1 -> INT 11).
  arrow::compute::CastOptions opts = arrow::compute::CastOptions::Safe();
  opts.allow_float_truncate = true;
  ARROW_ASSIGN_OR_RAISE(auto out, arrow::compute::Cast(*in, target, opts));
  return out;
}

}  // namespace

Result<std::shared_ptr<arrow::ChunkedArray>> CastForEvolution(
    const std::shared_ptr<arrow::ChunkedArray>& values, const paimon::DataType& from,
    const paimon::DataType& to) {
  arrow::ArrayVector chunks;
  for (const auto& c : values->chunks()) {
    ARROW_ASSIGN_OR_RAISE(auto out, CastChunk(c, from, to));
    chunks.push_back(std::move(out));
  }
  return std::make_shared<arrow::ChunkedArray>(std::move(chunks), paimon::ToArrowType(to));
}

}  // namespace millpond::table
