// Partition values to path strings. Mirrors org.apache.paimon.utils.PartitionPathUtils
// (escapePathName, unescapePathName, generatePartitionPath) and InternalRowPartitionComputer
// (legacy `toString` names vs. CAST-to-STRING names, blank values -> default partition name).
#include "millpond/paimon/partition.h"

#include <algorithm>
#include <charconv>
#include <cmath>
#include <limits>
#include <cstdio>
#include <cstring>

#include <arrow/scalar.h>
#include <arrow/util/checked_cast.h>
#include <arrow/util/decimal.h>

namespace millpond::paimon {

namespace {

using arrow::internal::checked_cast;

bool NeedsEscaping(unsigned char c) {
  if (c < 0x20 || c == 0x7F) return true;
  switch (c) {
    case '"':
    case '#':
    case '%':
    case '\'':
    case '*':
    case '/':
    case ':':
    case '=':
    case '?':
    case '\\':
    case '{':
    case '}':
    case '[':
    case ']':
    case '^':
      return true;
    default:
      return false;
  }
}

int HexValue(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

/// Appends code point `cp` as UTF-8.
void AppendUtf8(std::string* out, uint32_t cp) {
  if (cp < 0x80) {
    out->push_back(static_cast<char>(cp));
  } else if (cp < 0x800) {
    out->push_back(static_cast<char>(0xC0 | (cp >> 6)));
    out->push_back(static_cast<char>(0x80 | (cp & 0x3F)));
  } else if (cp < 0x10000) {
    out->push_back(static_cast<char>(0xE0 | (cp >> 12)));
    out->push_back(static_cast<char>(0x80 | ((cp >> 6) & 0x3F)));
    out->push_back(static_cast<char>(0x80 | (cp & 0x3F)));
  } else {
    out->push_back(static_cast<char>(0xF0 | (cp >> 18)));
    out->push_back(static_cast<char>(0x80 | ((cp >> 12) & 0x3F)));
    out->push_back(static_cast<char>(0x80 | ((cp >> 6) & 0x3F)));
    out->push_back(static_cast<char>(0x80 | (cp & 0x3F)));
  }
}

/// Java's Character.isWhitespace for one code point.
bool IsJavaWhitespace(uint32_t cp) {
  if (cp == ' ' || (cp >= 0x09 && cp <= 0x0D) || (cp >= 0x1C && cp <= 0x1F)) return true;
  // Unicode space separators except the no-break ones, and the line/paragraph separators.
  return cp == 0x1680 || (cp >= 0x2000 && cp <= 0x2006) || (cp >= 0x2008 && cp <= 0x200A) ||
         cp == 0x2028 || cp == 0x2029 || cp == 0x205F || cp == 0x3000;
}

/// StringUtils.isNullOrWhitespaceOnly over UTF-8 text (invalid bytes count as non-blank).
bool IsBlank(std::string_view s) {
  size_t i = 0;
  while (i < s.size()) {
    unsigned char c = static_cast<unsigned char>(s[i]);
    uint32_t cp;
    size_t len;
    if (c < 0x80) {
      cp = c;
      len = 1;
    } else if ((c & 0xE0) == 0xC0) {
      cp = c & 0x1F;
      len = 2;
    } else if ((c & 0xF0) == 0xE0) {
      cp = c & 0x0F;
      len = 3;
    } else if ((c & 0xF8) == 0xF0) {
      cp = c & 0x07;
      len = 4;
    } else {
      return false;
    }
    if (i + len > s.size()) return false;
    for (size_t k = 1; k < len; ++k) cp = (cp << 6) | (static_cast<unsigned char>(s[i + k]) & 0x3F);
    if (!IsJavaWhitespace(cp)) return false;
    i += len;
  }
  return true;
}

/// Float.toString / Double.toString: the shortest digits that round-trip (at least two
/// significant digits, as JDK 19+ specifies), plain notation for 1e-3 <= |v| < 1e7, otherwise
/// "d.dddE[-]n".
template <typename T>
std::string JavaFloatingToString(T v) {
  if (v != v) return "NaN";
  if (v == std::numeric_limits<T>::infinity()) return "Infinity";
  if (v == -std::numeric_limits<T>::infinity()) return "-Infinity";
  if (v == 0) return std::signbit(v) ? "-0.0" : "0.0";
  char buf[64];
  auto res = std::to_chars(buf, buf + sizeof(buf), v, std::chars_format::scientific);
  std::string sci(buf, res.ptr);
  // sci: [-]d[.ddd]e[+-]xx
  bool negative = sci[0] == '-';
  if (negative) sci.erase(0, 1);
  size_t e = sci.find('e');
  std::string digits = sci.substr(0, e);
  int exponent = std::stoi(sci.substr(e + 1));
  digits.erase(std::remove(digits.begin(), digits.end(), '.'), digits.end());
  if (digits.size() == 1) {
    // Only one shortest digit: Java prints the closest two-digit decimal (4.9E-324, 1.0).
    res = std::to_chars(buf, buf + sizeof(buf), v, std::chars_format::scientific, 1);
    sci.assign(buf, res.ptr);
    if (sci[0] == '-') sci.erase(0, 1);
    e = sci.find('e');
    digits = sci.substr(0, e);
    exponent = std::stoi(sci.substr(e + 1));
    digits.erase(std::remove(digits.begin(), digits.end(), '.'), digits.end());
  }
  std::string out = negative ? "-" : "";
  T abs = negative ? -v : v;
  if (abs >= T(1e-3) && abs < T(1e7)) {
    if (exponent >= 0) {
      std::string int_part = digits.substr(0, std::min<size_t>(digits.size(), exponent + 1));
      while (static_cast<int>(int_part.size()) < exponent + 1) int_part.push_back('0');
      std::string frac = digits.size() > static_cast<size_t>(exponent + 1)
                             ? digits.substr(exponent + 1)
                             : std::string();
      while (frac.size() > 1 && frac.back() == '0') frac.pop_back();
      if (frac.empty()) frac = "0";
      out += int_part + "." + frac;
    } else {
      std::string frac = std::string(-exponent - 1, '0') + digits;
      while (frac.size() > 1 && frac.back() == '0') frac.pop_back();
      out += "0." + frac;
    }
  } else {
    std::string frac = digits.substr(1);
    while (frac.size() > 1 && frac.back() == '0') frac.pop_back();
    if (frac.empty()) frac = "0";
    out += digits.substr(0, 1) + "." + frac + "E" + std::to_string(exponent);
  }
  return out;
}



int64_t FloorDiv(int64_t a, int64_t b) {
  int64_t q = a / b;
  if ((a % b != 0) && ((a < 0) != (b < 0))) --q;
  return q;
}

struct DateTime {
  int64_t days;
  int64_t hour, minute, second;
  int64_t nano;  // nano of second
};

Result<DateTime> SplitTimestamp(const arrow::TimestampScalar& ts) {
  const auto unit = checked_cast<const arrow::TimestampType&>(*ts.type).unit();
  int64_t per_second = unit == arrow::TimeUnit::SECOND  ? 1
                       : unit == arrow::TimeUnit::MILLI ? 1000
                       : unit == arrow::TimeUnit::MICRO ? 1000000
                                                        : 1000000000;
  int64_t sub = ts.value % per_second;
  if (sub < 0) sub += per_second;
  int64_t seconds = ts.value / per_second - (ts.value % per_second < 0 ? 1 : 0);
  DateTime dt;
  dt.nano = sub * (1000000000 / per_second);
  dt.days = FloorDiv(seconds, 86400);
  int64_t sod = seconds - dt.days * 86400;
  dt.hour = sod / 3600;
  dt.minute = (sod % 3600) / 60;
  dt.second = sod % 60;
  return dt;
}

std::string Pad2(int64_t v) {
  char buf[32];
  std::snprintf(buf, sizeof(buf), "%02lld", static_cast<long long>(v));
  return buf;
}

/// LocalDateTime.toString: yyyy-MM-ddTHH:mm[:ss[.SSS|.SSSSSS|.SSSSSSSSS]].
std::string LegacyTimestamp(const DateTime& dt) {
  std::string out = FormatDate(dt.days) + "T" + Pad2(dt.hour) + ":" + Pad2(dt.minute);
  if (dt.second > 0 || dt.nano > 0) {
    out += ":" + Pad2(dt.second);
    if (dt.nano > 0) {
      char buf[32];
      if (dt.nano % 1000000 == 0) {
        std::snprintf(buf, sizeof(buf), ".%03lld", static_cast<long long>(dt.nano / 1000000));
      } else if (dt.nano % 1000 == 0) {
        std::snprintf(buf, sizeof(buf), ".%06lld", static_cast<long long>(dt.nano / 1000));
      } else {
        std::snprintf(buf, sizeof(buf), ".%09lld", static_cast<long long>(dt.nano));
      }
      out += buf;
    }
  }
  return out;
}

/// DateTimeUtils.formatTimestamp(ts, precision): "yyyy-MM-dd HH:mm:ss" and the 9-digit fraction
/// with trailing zeros dropped down to `precision` digits.
std::string CastTimestamp(const DateTime& dt, int precision) {
  std::string out = FormatDate(dt.days) + " " + Pad2(dt.hour) + ":" + Pad2(dt.minute) + ":" +
                    Pad2(dt.second);
  char buf[32];
  std::snprintf(buf, sizeof(buf), "%09lld", static_cast<long long>(dt.nano));
  std::string fraction = buf;
  while (static_cast<int>(fraction.size()) > precision && fraction.back() == '0') fraction.pop_back();
  if (!fraction.empty()) out += "." + fraction;
  return out;
}

/// DateTimeUtils.formatTimestampMillis(time, precision) for TIME values.
std::string CastTime(int64_t time, int precision) {
  while (time < 0) time += 86400000;
  int64_t h = time / 3600000;
  int64_t t2 = time % 3600000;
  int64_t m = t2 / 60000;
  int64_t t3 = t2 % 60000;
  int64_t s = t3 / 1000;
  int64_t ms = t3 % 1000;
  std::string out = Pad2(h) + ":" + Pad2(m) + ":" + Pad2(s);
  if (precision > 0) {
    out.push_back('.');
    while (precision > 0) {
      out.push_back(static_cast<char>('0' + ms / 100));
      ms = (ms % 100) * 10;
      if (ms == 0) break;
      --precision;
    }
  }
  return out;
}

}  // namespace

std::string EscapePathName(const std::string& name) {
  std::string out;
  out.reserve(name.size() + 2);
  static const char kHex[] = "0123456789ABCDEF";
  for (char ch : name) {
    unsigned char c = static_cast<unsigned char>(ch);
    if (NeedsEscaping(c)) {
      out.push_back('%');
      out.push_back(kHex[c >> 4]);
      out.push_back(kHex[c & 0xF]);
    } else {
      out.push_back(ch);
    }
  }
  return out;
}

std::string UnescapePathName(const std::string& name) {
  std::string out;
  out.reserve(name.size());
  for (size_t i = 0; i < name.size(); ++i) {
    if (name[i] == '%' && i + 2 < name.size()) {
      int hi = HexValue(name[i + 1]);
      int lo = HexValue(name[i + 2]);
      if (hi >= 0 && lo >= 0) {
        // Java appends (char) code: a UTF-16 code unit U+0000..U+00FF.
        AppendUtf8(&out, static_cast<uint32_t>(hi * 16 + lo));
        i += 2;
        continue;
      }
    }
    out.push_back(name[i]);
  }
  return out;
}

Result<std::string> PartitionValueToString(const std::shared_ptr<arrow::Scalar>& input,
                                           const DataType& type, const std::string& default_name,
                                           bool legacy_name) {
  if (input == nullptr || !input->is_valid) return default_name;
  std::shared_ptr<arrow::Scalar> value = input;
  std::shared_ptr<arrow::DataType> want = ToArrowType(type);
  const bool any_timestamp = (type.root == TypeRoot::kTimestamp ||
                              type.root == TypeRoot::kLocalZonedTimestamp) &&
                             value->type->id() == arrow::Type::TIMESTAMP;
  const bool any_binary =
      (type.IsString() || type.root == TypeRoot::kBinary || type.root == TypeRoot::kVarBinary) &&
      arrow::is_base_binary_like(value->type->id());
  if (!any_timestamp && !any_binary && !value->type->Equals(*want)) {
    auto cast = value->CastTo(want);
    if (!cast.ok()) {
      return arrow::Status::Invalid("partition value of Arrow type ", value->type->ToString(),
                                    " cannot be read as ", type.ToString(), ": ",
                                    cast.status().message());
    }
    value = cast.MoveValueUnsafe();
  }
  std::string s;
  switch (type.root) {
    case TypeRoot::kBoolean:
      s = checked_cast<const arrow::BooleanScalar&>(*value).value ? "true" : "false";
      break;
    case TypeRoot::kTinyInt:
      s = std::to_string(checked_cast<const arrow::Int8Scalar&>(*value).value);
      break;
    case TypeRoot::kSmallInt:
      s = std::to_string(checked_cast<const arrow::Int16Scalar&>(*value).value);
      break;
    case TypeRoot::kInt:
      s = std::to_string(checked_cast<const arrow::Int32Scalar&>(*value).value);
      break;
    case TypeRoot::kBigInt:
      s = std::to_string(checked_cast<const arrow::Int64Scalar&>(*value).value);
      break;
    case TypeRoot::kFloat:
      s = JavaFloatingToString(checked_cast<const arrow::FloatScalar&>(*value).value);
      break;
    case TypeRoot::kDouble:
      s = JavaFloatingToString(checked_cast<const arrow::DoubleScalar&>(*value).value);
      break;
    case TypeRoot::kDecimal:
      // Decimal.toString is BigDecimal.toPlainString, in both naming modes.
      s = checked_cast<const arrow::Decimal128Scalar&>(*value).value.ToString(type.scale);
      break;
    case TypeRoot::kChar:
    case TypeRoot::kVarChar:
      s = std::string(checked_cast<const arrow::BaseBinaryScalar&>(*value).view());
      break;
    case TypeRoot::kBinary:
    case TypeRoot::kVarBinary:
      if (legacy_name) {
        // Java's legacy name is byte[].toString() ("[B@1b6d3586"), an identity hash.
        return arrow::Status::NotImplemented(
            "partition value of type ", type.ToString(),
            ": Paimon's legacy partition name for binary is not reproducible; set "
            "'partition.legacy-name' = 'false'");
      }
      s = std::string(checked_cast<const arrow::BaseBinaryScalar&>(*value).view());
      break;
    case TypeRoot::kDate: {
      int32_t days = checked_cast<const arrow::Date32Scalar&>(*value).value;
      s = legacy_name ? std::to_string(days) : FormatDate(days);
      break;
    }
    case TypeRoot::kTime: {
      int32_t millis = checked_cast<const arrow::Time32Scalar&>(*value).value;
      s = legacy_name ? std::to_string(millis) : CastTime(millis, type.precision);
      break;
    }
    case TypeRoot::kTimestamp:
    case TypeRoot::kLocalZonedTimestamp: {
      // WITH LOCAL TIME ZONE: Java's CAST uses the JVM's default zone; we use UTC.
      ARROW_ASSIGN_OR_RAISE(DateTime dt,
                            SplitTimestamp(checked_cast<const arrow::TimestampScalar&>(*value)));
      s = legacy_name ? LegacyTimestamp(dt) : CastTimestamp(dt, type.precision);
      break;
    }
    default:
      return arrow::Status::NotImplemented("partition value of type ", type.ToString(),
                                           " cannot be part of a partition path");
  }
  if (IsBlank(s)) return default_name;
  return s;
}

Result<std::string> PartitionPath(const std::vector<std::string>& keys,
                                  const std::vector<std::shared_ptr<arrow::Scalar>>& values,
                                  const std::vector<DataTypePtr>& types,
                                  const std::string& default_name, bool legacy_name) {
  if (keys.size() != values.size() || keys.size() != types.size()) {
    return arrow::Status::Invalid("PartitionPath: ", keys.size(), " keys, ", values.size(),
                                  " values and ", types.size(), " types");
  }
  std::string path;
  for (size_t i = 0; i < keys.size(); ++i) {
    if (keys[i].empty()) return arrow::Status::Invalid("PartitionPath: partition key ", i, " is empty");
    if (types[i] == nullptr) return arrow::Status::Invalid("PartitionPath: type of ", keys[i], " is null");
    auto value = PartitionValueToString(values[i], *types[i], default_name, legacy_name);
    if (!value.ok()) {
      return value.status().WithMessage("partition field ", keys[i], ": ",
                                        value.status().message());
    }
    if (value->empty()) {
      return arrow::Status::Invalid("partition field ", keys[i],
                                    ": empty value and empty default partition name");
    }
    path += EscapePathName(keys[i]) + "=" + EscapePathName(*value) + "/";
  }
  return path;
}

}  // namespace millpond::paimon
